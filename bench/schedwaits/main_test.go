package main

import (
	"bytes"
	"regexp"
	"runtime"
	rtrace "runtime/trace"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestRun traces goroutines that queue for the Ps and a collection, and
// reads the trace back: the marking and the waits are found.
func TestRun(t *testing.T) {
	if rtrace.IsEnabled() {
		t.Skip("go test -trace is tracing already")
	}
	var tr bytes.Buffer
	if err := rtrace.Start(&tr); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			var b []byte
			for j := range 2000 {
				b = make([]byte, 64+j%512)
				if j%100 == 0 {
					runtime.Gosched()
				}
			}
			runtime.KeepAlive(b)
		})
	}
	runtime.GC()
	wg.Wait()
	rtrace.Stop()

	var out strings.Builder
	if err := run(&tr, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(\d+) GC markings`).FindStringSubmatch(out.String())
	if m == nil || m[1] == "0" {
		t.Errorf("no GC marking found:\n%s", out.String())
	}
	m = regexp.MustCompile(`waited for a P: (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no waits line:\n%s", out.String())
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Errorf("no waits found:\n%s", out.String())
	}
}

func TestRunNotATrace(t *testing.T) {
	if err := run(strings.NewReader("not a trace"), &strings.Builder{}); err == nil {
		t.Error("read a text as a trace")
	}
}
