package main

// The pages in Chromium: what every page test uses, and the home page
// (the others: tracking_page_test.go, settings_page_test.go,
// board_page_test.go).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium (Debian's package) with a fresh profile,
// closed when the test ends. Without Chromium the test skips, or under
// CI=true fails: .ci/run installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
		}
		t.Skip("page tests skipped: install chromium (apt-get install -y chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(420, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelT)
	return ctx
}

// screenshot saves the page into testdata/artifacts.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "artifacts")
	_ = os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newPageStack(t *testing.T) *stack {
	st := &stack{t: t, env: map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken,
		"ENROUTE_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png"}} // no tile server: the page must work without
	st.m, _ = start(t, st.env)
	return st
}

// logIn opens a staff page (the settings screen, the board) and logs in
// with key.
func logIn(t *testing.T, ctx context.Context, pageURL, key string) {
	t.Helper()
	navigate(t, ctx, pageURL)
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#key"), key),
		chromedp.Click(chromedp.CSS("#login button")),
		chromedp.WaitVisible(chromedp.CSS("#app")),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
}

// text waits for an element to show and returns its text.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	// The page fills its fields from /state after loading: give it the
	// time to, rather than read a field before it is filled.
	q, _ := json.Marshal(sel)
	_, _ = chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector(%s).textContent.trim() !== ""`, q), chromedp.WithPollingTimeout(5*time.Second)))
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// hidden reports whether the element is not shown: not laid out at all
// (display: none, its own or an ancestor's). Not the hidden attribute
// alone: a stylesheet's display rule overrides it, and the element shows.
func hidden(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return eval[bool](t, ctx, fmt.Sprintf(`document.querySelector(%q).getClientRects().length === 0`, sel))
}

// inZone makes the browser's zone name (as a phone's settings would), on
// a blank page: zone-dependent pages must not follow it.
func inZone(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	navigate(t, ctx, "about:blank") // a target to set it on
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: name}); err != nil {
		t.Fatal(err)
	}
}

// soonIn fails unless clock (as the page shows it, "3:04 PM") is a time
// in loc within the next two hours: an ETA minutes away, read in loc's
// zone and not another (the tests' other zone is hours apart).
func soonIn(t *testing.T, what, clock string, loc *time.Location) {
	t.Helper()
	c, err := time.Parse("3:04 PM", clockText(clock))
	if err != nil {
		t.Fatalf("%s clock: %v", what, err)
	}
	now := time.Now().In(loc)
	ahead := (c.Hour()*60 + c.Minute() - now.Hour()*60 - now.Minute() + 24*60) % (24 * 60)
	if ahead > 120 && ahead < 24*60-5 { // more than 2 h ahead, or over 5 min behind
		t.Fatalf("%s clock %q with %s's now %s: not in that zone", what, clock, loc, now.Format("3:04 PM"))
	}
}

// clockText is a time as the page shows it with the spaces browsers put
// around "AM" (a narrow no-break space, U+202F) made plain.
func clockText(s string) string { return strings.ReplaceAll(s, "\u202f", " ") }

func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
}

// TestHomePage: / says what this server is, for whom, and links to the
// board, the settings, the API document and health; the log-in forms name
// the product and the company and say where keys come from. Before, /
// answered a JSON 404.
func TestHomePage(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	st.ok("PATCH", "/api/v1/company", map[string]any{"name": "Cool Air <HVAC>"})
	navigate(t, ctx, "http://"+st.m.Addr()+"/")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector(".company-name").textContent === "Cool Air <HVAC>"`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("company on the home page = %q: %v", text(t, ctx, ".company-name"), err)
	}
	links := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("main a")).map(function (a) { return a.getAttribute("href"); })`)
	for _, want := range []string{"/dispatch", "/settings/dispatch-notifications", "/api/v1/openapi.yaml", "/healthz", "/readyz"} {
		if !slices.Contains(links, want) {
			t.Errorf("the home page does not link %s: %v", want, links)
		}
	}
	for _, href := range links {
		if status, _ := send(t, "GET", "http://"+st.m.Addr()+href, "", ""); status != 200 {
			t.Errorf("%s answers %d", href, status)
		}
	}
	screenshot(t, ctx, "home")
	for _, page := range []string{"/dispatch", "/settings/dispatch-notifications"} {
		navigate(t, ctx, "http://"+st.m.Addr()+page)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector("#login").hidden && document.querySelector("#login .company-name").textContent === "Cool Air <HVAC>"`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("%s log-in form: %q: %v", page, text(t, ctx, "#login"), err)
		}
		if got := text(t, ctx, "#login"); !strings.Contains(got, "Enroute") || !strings.Contains(got, "printed once when the server first starts") {
			t.Errorf("%s log-in form = %q", page, got)
		}
	}
}

// holdNextRead holds the answer to the page's next request whose URL
// holds path until releaseRead. window.slowRead is "held" once it is
// asked, "handled" once the page has handled its answer (a task after
// the page's own).
func holdNextRead(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	eval[bool](t, ctx, `(function () {
		var fetch = window.fetch;
		window.fetch = function (url, opts) {
			var p = fetch(url, opts);
			if (String(url).indexOf(`+strconv.Quote(path)+`) < 0 || window.slowRead) { return p; }
			window.slowRead = "held";
			var held = new Promise(function (done) { window.releaseRead = done; });
			return p.then(function (r) {
				["json", "text"].forEach(function (f) {
					var read = r[f].bind(r);
					r[f] = function () { return read().then(function (v) { setTimeout(function () { window.slowRead = "handled"; }, 0); return v; }); };
				});
				return held.then(function () { return r; });
			});
		};
		return true;
	})()`)
}

// releaseRead lets the answer holdNextRead held go, and waits until the
// page has handled it.
func releaseRead(t *testing.T, ctx context.Context) {
	t.Helper()
	eval[bool](t, ctx, `window.releaseRead(), true`)
	pollJS(t, ctx, "the held answer", `window.slowRead === "handled"`)
}

// failNextRead makes the page's next request whose URL holds path fail
// with a 503, as a server restarting does.
func failNextRead(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	eval[bool](t, ctx, `(function () {
		var fetch = window.fetch, failed = false;
		window.fetch = function (url, opts) {
			if (failed || String(url).indexOf(`+strconv.Quote(path)+`) < 0) { return fetch(url, opts); }
			failed = true;
			return Promise.resolve(new Response("{}", { status: 503 }));
		};
		return true;
	})()`)
}
