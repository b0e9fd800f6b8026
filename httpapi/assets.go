package httpapi

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/static"
	"github.com/labstack/echo/v4"
)

// serveAsset serves one embedded file under /static/. A directory is not
// found, never listed; a path that is no file name (a "..", bytes that are
// not UTF-8) is the client's error.
func (s *Server) serveAsset(c echo.Context) error {
	name := strings.TrimPrefix(c.Request().URL.Path, "/static/")
	if name == "" || strings.HasSuffix(name, "/") {
		return errorf(enroute.ENOTFOUND, "No such file.")
	}
	if !utf8.ValidString(name) || !fs.ValidPath(name) {
		return errorf(enroute.EINVALID, "The path is not a file name.")
	}
	f, err := static.FS().Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return errorf(enroute.ENOTFOUND, "No such file.")
	} else if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rs, ok := f.(io.ReadSeeker)
	if st.IsDir() || !ok {
		return errorf(enroute.ENOTFOUND, "No such file.")
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(c.Response(), c.Request(), name, st.ModTime(), rs)
	return nil
}
