package main

// The table: each figure's value per round for Enroute and its peer, and
// the printed medians and ratios.

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// row is one measured quantity, each side's value in each round.
type row struct {
	what, unit   string
	peer         string // the peer's name, "Centrifugo" or "Tile38"
	higherBetter bool
	info         bool // a cross-check, neither better nor worse
	enroute      []float64
	other        []float64
}

// table is the rows in the order they were first added.
type table struct {
	rows []*row
}

// row returns the row named what, adding it on first use.
func (t *table) row(what, unit, peer string, higherBetter bool) *row {
	for _, r := range t.rows {
		if r.what == what {
			return r
		}
	}
	r := &row{what: what, unit: unit, peer: peer, higherBetter: higherBetter}
	t.rows = append(t.rows, r)
	return r
}

// median is the middle value (the mean of the two middle ones for an even
// count), NaN for none. NaN values (a side that could not measure) are
// left out.
func median(xs []float64) float64 {
	s := slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	if len(s) == 0 {
		return math.NaN()
	}
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// verdict says whether Enroute's median is better or worse than the
// peer's, given the ratio of Enroute's to the peer's.
func verdict(ratio float64, higherBetter bool) string {
	switch {
	case math.IsNaN(ratio) || math.IsInf(ratio, 0):
		return "—"
	case ratio == 1:
		return "same"
	case (ratio > 1) == higherBetter:
		return "better"
	default:
		return "worse"
	}
}

// number formats a figure for the table: thousands separated for large
// values, three significant digits for small ones.
func number(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "—"
	case a >= 1000:
		s := fmt.Sprintf("%.0f", math.Abs(v))
		var b strings.Builder
		if v < 0 {
			b.WriteByte('-')
		}
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// print writes the table in Markdown: each side's median over rounds, the
// ratio of Enroute's to the peer's, and which way it goes.
func (t *table) print(w io.Writer) {
	fmt.Fprintln(w, "| what | Enroute | peer | ratio | |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range t.rows {
		e, p := median(r.enroute), median(r.other)
		ratio := e / p
		v := verdict(ratio, r.higherBetter)
		if r.info {
			v = "check"
		}
		ratioS := "—"
		if !math.IsNaN(ratio) && !math.IsInf(ratio, 0) {
			ratioS = fmt.Sprintf("%.2f", ratio)
		}
		unit := ""
		if r.unit != "" {
			unit = " " + r.unit
		}
		fmt.Fprintf(w, "| %s | %s%s | %s %s%s | %s | %s |\n", r.what, number(e), unit, r.peer, number(p), unit, ratioS, v)
	}
}

// rounds writes every round's values of every row, for the log.
func (t *table) rounds(w io.Writer) {
	for _, r := range t.rows {
		fmt.Fprintf(w, "%s (%s): Enroute %v, %s %v\n", r.what, r.unit, roundsOf(r.enroute), r.peer, roundsOf(r.other))
	}
}

func roundsOf(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = number(x)
	}
	return "[" + strings.Join(s, " ") + "]"
}
