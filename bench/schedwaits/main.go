// Command schedwaits reads a Go execution trace of a server under load
// (its /debug/pprof/trace?seconds=5, with ENROUTE_PPROF_ADDR set) and says
// where the tail comes from: how long goroutines that were ready to run
// waited for a P, how many of the long waits overlapped a garbage
// collection's marking, the markings' lengths and share of the trace, and
// the stacks at which runs over a millisecond ended. A benchmark's tool:
//
//	go run ./bench/schedwaits trace.out
//
// A wait or run under way when the trace starts counts from its start (a
// lower bound); one still under way when it ends is left out.
package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/exp/trace"
)

// span is a stretch of time: a goroutine's wait to run, or a marking.
type span struct{ start, end trace.Time }

func (s span) ms() float64 { return float64(s.end-s.start) / 1e6 }

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: schedwaits TRACE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedwaits:", err)
		os.Exit(1)
	}
	defer f.Close()
	if err := run(f, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "schedwaits:", err)
		os.Exit(1)
	}
}

// hog is the runs over a millisecond that ended at one stack.
type hog struct {
	stack string
	n     int
	ms    float64
}

func run(r io.Reader, w io.Writer) error {
	tr, err := trace.NewReader(r)
	if err != nil {
		return fmt.Errorf("read trace: %w", err)
	}
	var (
		waits, marks      []span
		byStack           = map[string]*hog{}
		running, ready    = map[trace.GoID]trace.Time{}, map[trace.GoID]trace.Time{}
		first, last, mark trace.Time
		marking           bool
	)
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("read trace: %w", err)
		}
		if first == 0 {
			first = ev.Time()
		}
		last = ev.Time()
		switch ev.Kind() {
		case trace.EventRangeBegin, trace.EventRangeActive, trace.EventRangeEnd:
			// Active: a marking under way when the trace (or one of its
			// generations) began.
			if ev.Range().Name != "GC concurrent mark phase" {
				continue
			}
			if ev.Kind() != trace.EventRangeEnd {
				if !marking {
					mark, marking = ev.Time(), true
				}
			} else if marking {
				marks = append(marks, span{mark, ev.Time()})
				marking = false
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			g := st.Resource.Goroutine()
			from, to := st.Goroutine()
			if from == to {
				continue // a state restated where a new generation begins
			}
			if t, ok := running[g]; ok && from == trace.GoRunning {
				// A run that held its P over a millisecond (the system
				// taking the thread away counts too; a system call ends
				// the run).
				if ms := float64(ev.Time()-t) / 1e6; ms > 1 {
					k := frames(ev.Stack())
					h := byStack[k]
					if h == nil {
						h = &hog{stack: k}
						byStack[k] = h
					}
					h.n++
					h.ms += ms
				}
				delete(running, g)
			}
			switch to {
			case trace.GoRunning:
				running[g] = ev.Time()
				if t, ok := ready[g]; ok {
					waits = append(waits, span{t, ev.Time()})
					delete(ready, g)
				}
			case trace.GoRunnable:
				ready[g] = ev.Time()
			}
		}
	}
	if marking {
		marks = append(marks, span{mark, last})
	}
	if len(waits) == 0 || last == first {
		return fmt.Errorf("no goroutine waited to run in the trace")
	}
	total := float64(last-first) / 1e6
	var marked float64
	for _, m := range marks {
		marked += m.ms()
	}
	fmt.Fprintf(w, "trace %.0f ms: %d GC markings, %.0f ms (%.1f%% of the time)", total, len(marks), marked, 100*marked/total)
	for _, m := range marks {
		fmt.Fprintf(w, " %.0f", m.ms())
	}
	fmt.Fprintf(w, "\nready goroutines that waited for a P: %d\n", len(waits))
	inMark := func(s span) bool {
		return slices.ContainsFunc(marks, func(m span) bool { return s.end >= m.start && s.start <= m.end })
	}
	for _, limit := range []float64{2, 5, 10, 20} {
		var n, g int
		for _, s := range waits {
			if s.ms() > limit {
				n++
				if inMark(s) {
					g++
				}
			}
		}
		fmt.Fprintf(w, "  over %2.0f ms: %6d, of them during a marking %6d\n", limit, n, g)
	}
	hogs := make([]*hog, 0, len(byStack))
	for _, h := range byStack {
		hogs = append(hogs, h)
	}
	slices.SortFunc(hogs, func(a, b *hog) int { return cmp.Or(cmp.Compare(b.ms, a.ms), cmp.Compare(a.stack, b.stack)) })
	fmt.Fprintln(w, "runs over 1 ms, by the stack they ended at: count, ms in all")
	for _, h := range hogs[:min(len(hogs), 15)] {
		fmt.Fprintf(w, "  %5d %8.1f  %s\n", h.n, h.ms, h.stack)
	}
	return nil
}

// frames names a stack's innermost functions, without their packages'
// paths.
func frames(s trace.Stack) string {
	var names []string
	for f := range s.Frames() {
		fn := f.Func
		if i := strings.LastIndex(fn, "/"); i >= 0 {
			fn = fn[i+1:]
		}
		if names = append(names, fn); len(names) == 5 {
			break
		}
	}
	if len(names) == 0 {
		return "(no stack)"
	}
	return strings.Join(names, " < ")
}
