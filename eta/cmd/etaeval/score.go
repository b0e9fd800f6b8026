package main

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/enroutehq/enroute/eta"
	"github.com/enroutehq/enroute/geo"
)

// shown is what a predictor shows at a fix: the time left and its range,
// in seconds (early and late NaN without a range).
type shown struct{ left, early, late float64 }

// predictor shows, at every fix of a drive but its last, in order, what
// the customer would see.
type predictor struct {
	name  string
	drive func(t *trip) []shown
}

// endsOnGlitch reports whether a drive's last minute holds a jump off its
// path (eta.Track) that it never came back from: its last fix is then
// where a glitch put it, not where the drive ended, and every prediction
// along it is scored against the wrong place.
func endsOnGlitch(ps []eta.Point) bool {
	var tr eta.Track
	away := false // off the path since the newest jump, or moved by it
	for _, p := range ps {
		holding := tr.Holding()
		switch tr.Add(p) {
		case eta.Off, eta.Moved:
			away = true
		case eta.OnPath:
			away = away && !holding
		}
	}
	return away && ps[len(ps)-1].Time.Sub(tr.JumpedAt) <= time.Minute
}

// Buckets of the time left and of the whole drive's length, in minutes,
// and of the share of the time left spent standing (steps under 1 m/s:
// lights, queues, parking).
var (
	leftBuckets     = []float64{2, 5, 15, math.Inf(1)}
	lengthBuckets   = []float64{5, 10, 20, math.Inf(1)}
	standingBuckets = []float64{0.1, 1.0 / 3, math.Inf(1)}
)

func bucketName(bs []float64, k int) string {
	switch {
	case k == 0:
		return fmt.Sprintf("< %g min", bs[0])
	case math.IsInf(bs[k], 1):
		return fmt.Sprintf("> %g min", bs[k-1])
	default:
		return fmt.Sprintf("%g-%g min", bs[k-1], bs[k])
	}
}

func bucketOf(bs []float64, minutes float64) int {
	for k, b := range bs {
		if minutes < b {
			return k
		}
	}
	return len(bs) - 1
}

// standingLeft is, at each fix, the time (s) the drive will still spend
// in steps slower than 1 m/s.
func standingLeft(ps []eta.Point) []float64 {
	out := make([]float64, len(ps))
	for i := len(ps) - 2; i >= 0; i-- {
		out[i] = out[i+1]
		dt := ps[i+1].Time.Sub(ps[i].Time).Seconds()
		if d := geo.DistanceM(ps[i].Lat, ps[i].Lng, ps[i+1].Lat, ps[i+1].Lng); dt > 0 && d/dt < 1 {
			out[i] += dt
		}
	}
	return out
}

// errGroup gathers predictions' errors.
type errGroup struct{ abs, ape, ratio []float64 }

func (g *errGroup) add(pred, truth float64) {
	g.abs = append(g.abs, math.Abs(pred-truth))
	g.ape = append(g.ape, math.Abs(pred-truth)/truth)
	g.ratio = append(g.ratio, pred/truth)
}

// scores are one predictor's figures on the scored drives.
type scores struct {
	atFrac                       []errGroup // at 25, 50, 75% of each drive
	all                          errGroup   // every fix
	byLeft, byLength, byStanding []errGroup // every fix, by the time left, the drive's length, standing
	churn                        []float64  // minutes the shown arrival moved per update
	reversals, drives            int        // shown arrival minute turning back; drives scored
	inside, ranged               int        // true arrivals inside the range; predictions with one
	width, relWidth              []float64  // the range's width in minutes, and over the time left
}

func score(p predictor, drives []trip) *scores {
	s := &scores{atFrac: make([]errGroup, len(fracs)), byLeft: make([]errGroup, len(leftBuckets)), byLength: make([]errGroup, len(lengthBuckets)),
		byStanding: make([]errGroup, len(standingBuckets))}
	for k := range drives {
		t := &drives[k]
		ss := p.drive(t)
		end := t.ps[len(t.ps)-1].Time
		length := bucketOf(lengthBuckets, end.Sub(t.ps[0].Time).Minutes())
		standing := standingLeft(t.ps)
		s.drives++
		var prevArr float64
		var minute time.Time
		var lastDir int
		for i, sh := range ss {
			truth := end.Sub(t.ps[i].Time).Seconds()
			if truth <= 0 {
				continue
			}
			s.all.add(sh.left, truth)
			s.byLeft[bucketOf(leftBuckets, truth/60)].add(sh.left, truth)
			s.byLength[length].add(sh.left, truth)
			s.byStanding[bucketOf(standingBuckets, standing[i]/truth)].add(sh.left, truth)
			// The arrival time shown, in seconds since the drive began.
			arr := t.ps[i].Time.Sub(t.ps[0].Time).Seconds() + sh.left
			// The minute a page shows (eta.ShownMinute), and whether it
			// turned back.
			next := eta.ShownMinute(minute, t.ps[i].Time.Add(time.Duration(sh.left*float64(time.Second))))
			if i > 0 {
				s.churn = append(s.churn, math.Abs(arr-prevArr)/60)
				if d := next.Compare(minute); d != 0 {
					if lastDir != 0 && d != lastDir {
						s.reversals++
					}
					lastDir = d
				}
			}
			prevArr, minute = arr, next
			if !math.IsNaN(sh.early) {
				s.ranged++
				if truth >= sh.early && truth <= sh.late {
					s.inside++
				}
				s.width = append(s.width, (sh.late-sh.early)/60)
				s.relWidth = append(s.relWidth, (sh.late-sh.early)/truth)
			}
		}
		for f, frac := range fracs {
			i := int(math.Round(frac * float64(len(t.ps)-1)))
			if truth := end.Sub(t.ps[i].Time).Seconds(); i < len(ss) && truth > 0 {
				s.atFrac[f].add(ss[i].left, truth)
			}
		}
	}
	return s
}

// report prints the predictors' scores side by side.
func report(names []string, ss []*scores) {
	row := func(label string, cell func(s *scores) string) {
		fmt.Printf("  %-22s", label)
		for _, s := range ss {
			fmt.Printf(" %22s", cell(s))
		}
		fmt.Println()
	}
	fmt.Printf("  %-22s", "")
	for _, n := range names {
		fmt.Printf(" %22s", n)
	}
	fmt.Println()
	fmt.Println("MdAPE (MAE s, n) at a share of each drive:")
	for f, frac := range fracs {
		row(fmt.Sprintf("%.0f%%", frac*100), func(s *scores) string { return errCell(s.atFrac[f]) })
	}
	fmt.Println("MdAPE (median predicted/true, n) at every fix, by the time left:")
	for k := range leftBuckets {
		row(bucketName(leftBuckets, k), func(s *scores) string { return biasCell(s.byLeft[k]) })
	}
	row("all", func(s *scores) string { return biasCell(s.all) })
	fmt.Println("the same by the drive's length:")
	for k := range lengthBuckets {
		row(bucketName(lengthBuckets, k), func(s *scores) string { return biasCell(s.byLength[k]) })
	}
	fmt.Println("the same by the share of the time left spent standing:")
	for k, name := range []string{"< 10%", "10-33%", "> 33%"} {
		row(name, func(s *scores) string { return biasCell(s.byStanding[k]) })
	}
	fmt.Println("churn: minutes the shown arrival moves per update (every 15 s), beyond the time passed:")
	row("median / p90", func(s *scores) string {
		return fmt.Sprintf("%.2f / %.2f", quantile(s.churn, 0.5), quantile(s.churn, 0.9))
	})
	row("shown minute turns back", func(s *scores) string {
		return fmt.Sprintf("%.2f a drive", float64(s.reversals)/float64(s.drives))
	})
	fmt.Println("range: true arrivals inside it; its width, median:")
	row("coverage", func(s *scores) string {
		if s.ranged == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f%% of %d", 100*float64(s.inside)/float64(s.ranged), s.ranged)
	})
	row("width (min, of left)", func(s *scores) string {
		if s.ranged == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f min, %.0f%%", quantile(s.width, 0.5), 100*quantile(s.relWidth, 0.5))
	})
}

func errCell(g errGroup) string {
	if len(g.ape) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%% (%.0f s, %d)", 100*quantile(g.ape, 0.5), mean(g.abs), len(g.ape))
}

func biasCell(g errGroup) string {
	if len(g.ape) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%% (%.2f, %d)", 100*quantile(g.ape, 0.5), quantile(g.ratio, 0.5), len(g.ape))
}

// quantile is the q-quantile of xs (sorted in place).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	return xs[int(q*float64(len(xs)-1))]
}
