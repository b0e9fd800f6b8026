package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSettingsImport: the settings screen uploads a CSV file of
// technicians; a file with a bad row imports nothing and lists the
// problem by row and column, as text (a value that looks like HTML stays
// text); a good one imports and the technicians tab shows them.
func TestSettingsImport(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	logIn(t, ctx, "http://"+st.m.Addr()+"/settings/dispatch-notifications", testAdminToken)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	good := filepath.Join(dir, "technicians.csv")
	if err := os.WriteFile(bad, []byte("external_id,name,rating\nT-1,Ana Silva,4.8\nT-2,<b>Bruno</b>,nine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte("external_id,name,rating\nT-1,Ana Silva,4.8\nT-2,Bruno Costa,4.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	upload := func(path string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{path}), chromedp.Click(chromedp.CSS("#import-go"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-tab="import"]`))); err != nil {
		t.Fatal(err)
	}
	upload(bad)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector("#import-errors").hidden`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("no row errors shown: %v (error: %q)", err, text(t, ctx, "#error"))
	}
	rows := text(t, ctx, "#import-errors tbody")
	if !strings.Contains(rows, "3") || !strings.Contains(rows, "rating") || !strings.Contains(rows, "must be a number") {
		t.Fatalf("row errors = %q", rows)
	}
	if got := text(t, ctx, "#error"); !strings.Contains(got, "nothing was imported") {
		t.Fatalf("error = %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#import-errors b").length`); n != 0 {
		t.Fatal("a value from the file was rendered as HTML")
	}
	if n := len(st.ok("GET", "/api/v1/technicians", nil).items()); n != 0 {
		t.Fatalf("%d technicians after a refused file", n)
	}

	upload(good)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector("#import-result").hidden`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("no result shown: %v (error: %q)", err, text(t, ctx, "#error"))
	}
	if got := text(t, ctx, "#import-result"); got != "Imported: 2 new, 0 updated, 0 unchanged." {
		t.Fatalf("result = %q", got)
	}
	if eval[bool](t, ctx, `!document.querySelector("#import-errors").hidden`) {
		t.Fatal("the last file's errors still shown")
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll("#tech-list tbody tr").length == 2`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("technicians tab after the import = %q: %v", text(t, ctx, "#tech-list tbody"), err)
	}
	screenshot(t, ctx, "settings-import")
}
