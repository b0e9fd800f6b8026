// Package static holds Enroute's web pages and their assets, embedded in
// the binary: the customer's tracking page today. Front-end libraries
// (Leaflet) come from the npm registry, pinned in package-lock.json; `make
// web` copies them into files/vendor before the build, and they are never
// committed. Without them the page still works, without its map.
//
// Concurrency: the file system is read-only and safe for concurrent use.
package static

import (
	"embed"
	"io/fs"
)

//go:embed all:files
var files embed.FS

// FS returns the assets, rooted at files/.
func FS() fs.FS {
	sub, err := fs.Sub(files, "files")
	if err != nil {
		panic(err) // the directory is embedded: only a typo gets here
	}
	return sub
}
