// Command etaeval scores the ETA model on recorded taxi trips (Porto,
// ECML/PKDD 2015, CC BY 4.0): it trains on the earlier trips, split by start
// time, and follows each later trip fix by fix as the server would
// (eta.Drive: glitches held, the shown arrival smoothed, its range),
// against its true arrival: where the server's default arrival rule marks
// it arrived at its last fix, the drop-off (-to arrival: the server shows
// the customer estimates up to there and learns drives up to there; the
// fare paid at the kerb after it is the visit), or its last fix (-to
// end). It reports the median absolute percentage error (and the mean
// absolute error in seconds) at 25%, 50% and 75% of each trip, and at
// every fix by the time left, the trip's length and the share of the time
// left spent standing; the churn of the shown arrival from update to
// update; and how many true arrivals the range held, and how wide it was.
// Rows: the model as shown, its raw estimates, and the baseline of
// straight-line distance at a constant speed fitted on the training trips
// (with the narrowest range that held 80% of them). Drives that end on a
// glitch are dropped, and counted. Nothing is tuned on the scored trips.
//
//	go run ./eta/cmd/etaeval -data ../shared/data/porto/porto_points.csv
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"github.com/enroutehq/enroute/eta"
	"github.com/enroutehq/enroute/geo"
	"github.com/enroutehq/enroute/internal/trips"
)

// trip is a recorded drive: its fixes up to its arrival, and where it
// went (its last fix as recorded: the drop-off, the address estimates aim
// at).
type trip struct {
	id string
	ps []eta.Point
	to eta.Point
}

func main() {
	data := flag.String("data", "../shared/data/porto/porto_points.csv", "trip_id,seq,t,lat,lon")
	train := flag.Float64("train", 0.7, "share of trips, by start time, to train on")
	minFixes := flag.Int("min-fixes", 8, "shortest trip scored, in fixes")
	validate := flag.Float64("validate", 0.15, "share of trips, after the training ones, to choose the model's settings on (0: the defaults)")
	online := flag.Bool("online", false, "also score with the model having learned, before each prediction, every scored trip that ended before that moment")
	to := flag.String("to", "arrival", "what a drive is scored and learned up to: arrival (where the server's default arrival rule marks it arrived at its last fix) or end (its last fix: a taxi's fare paid)")
	live := flag.Bool("live", false, "also score exactly as the server learns: every fix of every scored trip as it is taken (its segment), each trip's drive when it ends (detour, calibration), predictions in between")
	flag.Parse()
	if *online && *live {
		fmt.Fprintln(os.Stderr, "etaeval: -online and -live each change the model; give one")
		os.Exit(2)
	}
	if *to != "arrival" && *to != "end" {
		fmt.Fprintln(os.Stderr, "etaeval: -to is arrival or end")
		os.Exit(2)
	}
	trips, err := load(*data, *minFixes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etaeval:", err)
		os.Exit(1)
	}
	slices.SortFunc(trips, func(a, b trip) int { return a.ps[0].Time.Compare(b.ps[0].Time) })
	// Split first, then drop: the scored drives are the same ones as
	// before the drop, less those that end on a glitch.
	cut := int(float64(len(trips)) * *train)
	vcut := int(float64(len(trips)) * (*train - *validate))
	toArrival := *to == "arrival"
	fit, val, scored := prepare(trips[:vcut], toArrival, *minFixes), prepare(trips[vcut:cut], toArrival, *minFixes), prepare(trips[cut:], toArrival, *minFixes)
	learn := slices.Concat(fit.kept, val.kept)
	fmt.Printf("dropped %d of %d drives that end on a glitch (a jump off the path in their last minute, never come back from): %d training, %d scored\n",
		fit.glitch+val.glitch+scored.glitch, len(trips), fit.glitch+val.glitch, scored.glitch)
	if toArrival {
		fmt.Printf("drives cut where the server marks them arrived (%d of the %d kept; %d then under %d fixes dropped: %d training, %d scored)\n",
			fit.cut+val.cut+scored.cut, len(learn)+len(scored.kept)+fit.short+val.short+scored.short, fit.short+val.short+scored.short, *minFixes, fit.short+val.short, scored.short)
	}
	cfg := eta.Config{}
	if *validate > 0 {
		// Choose settings on the last trips of the training share, never
		// on the scored ones; then learn from the whole training share.
		var verr float64
		cfg, verr = choose(fit.kept, val.kept)
		fmt.Printf("settings chosen on %d validation trips: fine res %d, %d headings, prior %.0f m, recent half-life %v (validation MdAPE, mean of the three: %.1f%%)\n",
			len(val.kept), cfg.FineRes, cfg.Headings, cfg.PriorM, cfg.RecentHalfLife, 100*verr)
	}
	fmt.Printf("%d trips of %d+ fixes: training on %d (starting %s to %s), scoring %d (starting %s to %s)\n",
		len(trips), *minFixes, len(learn), learn[0].ps[0].Time.Format("15:04"), learn[len(learn)-1].ps[0].Time.Format("15:04"),
		len(scored.kept), scored.kept[0].ps[0].Time.Format("15:04"), scored.kept[len(scored.kept)-1].ps[0].Time.Format("15:04"))

	m := eta.New(cfg)
	for _, t := range learn {
		m.AddTripTo(t.ps, t.to.Lat, t.to.Lng)
	}
	km, cells := m.Stats()
	base := fitBaseline(learn)
	fmt.Printf("model: %.0f km of driving in %d cell-hours; baseline: straight line at %.2f m/s, range x%.2f-x%.2f\n\n", km, cells, base.speedMPS, base.lo, base.hi)
	preds := []predictor{modelPredictor(m, false), modelPredictor(m, true), base.predictor()}
	var names []string
	var ss []*scores
	for _, p := range preds {
		names = append(names, p.name)
		ss = append(ss, score(p, scored.kept))
	}
	report(names, ss)
	if *online {
		fmt.Printf("\nlearning each scored trip once it has ended, before the predictions that follow:\n")
		printErrs(inTimeScore(m, scored.kept, false))
	}
	if *live {
		fmt.Printf("\nas the server learns (each fix's segment as it is taken, each drive when it ends):\n")
		printErrs(inTimeScore(m, scored.kept, true))
	}
}

// split is a share of the drives, those ending on a glitch dropped
// (glitch), and each cut where it arrived (cut of them were), those then
// too short dropped (short).
type split struct {
	kept               []trip
	glitch, cut, short int
}

// prepare drops the drives that end on a glitch and, with toArrival, cuts
// each at the fix where the server's default arrival rule, measured
// against its last fix (the drop-off), marks it arrived: the server shows
// its customer estimates up to there and learns its drive up to there,
// and what follows (a fare paid at the kerb) is the visit, not the drive.
func prepare(ts []trip, toArrival bool, minFixes int) split {
	var s split
	for _, t := range ts {
		if endsOnGlitch(t.ps) {
			s.glitch++
			continue
		}
		if toArrival {
			if i := eta.ArrivedAt(t.ps, t.to.Lat, t.to.Lng, eta.ArrivalRule{}); i < len(t.ps)-1 { // the default rule
				s.cut++
				t.ps = t.ps[:i+1]
			}
			if len(t.ps) < minFixes {
				s.short++
				continue
			}
		}
		s.kept = append(s.kept, t)
	}
	return s
}

// modelPredictor shows, at every fix, what the server would show
// (eta.Drive): with raw, every estimate as it is.
func modelPredictor(m *eta.Model, raw bool) predictor {
	name := "model"
	if raw {
		name = "model, raw"
	}
	return predictor{name: name, drive: func(t *trip) []shown {
		d := eta.NewDrive(m.Destination(t.to.Lat, t.to.Lng))
		d.Raw = raw
		out := make([]shown, len(t.ps)-1)
		for i := range out {
			p := t.ps[i]
			if st := d.Add(p); st == eta.OnPath || st == eta.Moved {
				d.Update(m)
			}
			sh, _ := d.Shown()
			out[i] = shown{left: sh.ETA.Sub(p.Time).Seconds(), early: math.NaN(), late: math.NaN()}
			if !sh.Late.IsZero() {
				out[i].early, out[i].late = sh.Early.Sub(p.Time).Seconds(), sh.Late.Sub(p.Time).Seconds()
			}
		}
		return out
	}}
}

var fracs = []float64{0.25, 0.5, 0.75}

// errs are a fraction's absolute errors (s) and absolute percentage errors.
type errs struct{ abs, ape []float64 }

func printErrs(apes []errs) {
	for k, frac := range fracs {
		fmt.Printf("%-6s %-9s %10.0f %9.1f%% %8d\n", fmt.Sprintf("%.0f%%", frac*100), "model", mean(apes[k].abs), 100*med(apes[k].ape), len(apes[k].ape))
	}
}

// inTimeScore predicts at 25%, 50% and 75% of every scored trip in time
// order, the model learning meanwhile what it would know by then. With
// live false, each scored trip once it has ended (AddTripTo). With live
// true, exactly as the server learns: the segment of every fix already
// taken on any scored trip (AddSegment, as the server learns each accepted
// fix), and each trip's whole drive once it has ended (AddArrival, as the
// server does when a technician arrives). A trip never helps its own
// predictions beyond the fixes before them. At equal times predictions
// come first: the server estimates at a fix before it learns the segment
// that fix ends, and a trip ending at that moment is not yet known.
func inTimeScore(m *eta.Model, score []trip, live bool) []errs {
	const (
		predict = iota
		segment
		ended
	)
	type event struct {
		at   time.Time
		t    *trip
		kind int
		frac int
		i    int
	}
	var evs []event
	for k := range score {
		t := &score[k]
		if live {
			for i := 1; i < len(t.ps); i++ {
				evs = append(evs, event{at: t.ps[i].Time, t: t, kind: segment, i: i})
			}
		}
		evs = append(evs, event{at: t.ps[len(t.ps)-1].Time, t: t, kind: ended})
		for f, frac := range fracs {
			i := int(math.Round(frac * float64(len(t.ps)-1)))
			evs = append(evs, event{at: t.ps[i].Time, t: t, kind: predict, frac: f, i: i})
		}
	}
	slices.SortStableFunc(evs, func(a, b event) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.kind - b.kind
	})
	out := make([]errs, len(fracs))
	for _, e := range evs {
		switch {
		case e.kind == segment:
			m.AddSegment(e.t.ps[e.i-1], e.t.ps[e.i])
		case e.kind == ended && live:
			m.AddArrival(e.t.ps, e.t.to.Lat, e.t.to.Lng)
		case e.kind == ended:
			m.AddTripTo(e.t.ps, e.t.to.Lat, e.t.to.Lng)
		default:
			cur, end := e.t.ps[e.i], e.t.ps[len(e.t.ps)-1]
			truth := end.Time.Sub(cur.Time).Seconds()
			if truth <= 0 {
				continue
			}
			pred := m.Estimate(cur, currentSpeed(e.t.ps, e.i), e.t.to.Lat, e.t.to.Lng).Duration.Seconds()
			out[e.frac].abs = append(out[e.frac].abs, math.Abs(pred-truth))
			out[e.frac].ape = append(out[e.frac].ape, math.Abs(pred-truth)/truth)
		}
	}
	return out
}

// choose returns the settings whose model, learning from train, has the
// lowest mean of the median errors at 25%, 50% and 75% on val.
func choose(train, val []trip) (eta.Config, float64) {
	best, bestErr := eta.Config{}, math.Inf(1)
	for _, res := range []int{8, 9} {
		for _, prior := range []float64{500, 2000, 8000} {
			for _, hl := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 6 * time.Hour} {
				for _, headings := range []int{1, 4, 8} {
					cfg := eta.Config{FineRes: res, CoarseRes: res - 2, Headings: headings, PriorM: prior, RecentHalfLife: hl}
					m := eta.New(cfg)
					for _, t := range train {
						m.AddTripTo(t.ps, t.to.Lat, t.to.Lng)
					}
					e := 0.0
					for _, frac := range fracs {
						var apes []float64
						for _, t := range val {
							i := int(math.Round(frac * float64(len(t.ps)-1)))
							cur, end := t.ps[i], t.ps[len(t.ps)-1]
							truth := end.Time.Sub(cur.Time).Seconds()
							if truth <= 0 {
								continue
							}
							pred := m.Estimate(cur, currentSpeed(t.ps, i), t.to.Lat, t.to.Lng).Duration.Seconds()
							apes = append(apes, math.Abs(pred-truth)/truth)
						}
						e += med(apes) / 3
					}
					if e < bestErr {
						best, bestErr = cfg, e
					}
				}
			}
		}
	}
	return best, bestErr
}

// currentSpeed is the speed between a trip's fix i and the one before.
func currentSpeed(ps []eta.Point, i int) float64 {
	if i == 0 {
		return -1
	}
	if dt := ps[i].Time.Sub(ps[i-1].Time).Seconds(); dt > 0 {
		return geo.DistanceM(ps[i-1].Lat, ps[i-1].Lng, ps[i].Lat, ps[i].Lng) / dt
	}
	return -1
}

// baseline is straight-line distance at a constant speed, with a range
// from its error on the training trips.
type baseline struct{ speedMPS, lo, hi float64 }

// fitBaseline fits the constant speed v that minimizes the median absolute
// percentage error of remaining time = straight distance / v over the
// training trips at 25%, 50% and 75%: the baseline at its best. Its range
// is the narrowest that held 80% of the true times at every fix of them.
func fitBaseline(trips []trip) baseline {
	type sample struct{ d, t float64 }
	var ss []sample
	for _, t := range trips {
		end := t.ps[len(t.ps)-1]
		for _, frac := range []float64{0.25, 0.5, 0.75} {
			p := t.ps[int(math.Round(frac*float64(len(t.ps)-1)))]
			if truth := end.Time.Sub(p.Time).Seconds(); truth > 0 {
				ss = append(ss, sample{geo.DistanceM(p.Lat, p.Lng, t.to.Lat, t.to.Lng), truth})
			}
		}
	}
	best, bestErr := 1.0, math.Inf(1)
	for v := 1.0; v <= 20; v += 0.05 {
		apes := make([]float64, len(ss))
		for i, s := range ss {
			apes[i] = math.Abs(s.d/v-s.t) / s.t
		}
		if e := med(apes); e < bestErr {
			best, bestErr = v, e
		}
	}
	b := baseline{speedMPS: best}
	var ratios []float64
	for _, t := range trips {
		end := t.ps[len(t.ps)-1]
		for _, p := range t.ps[:len(t.ps)-1] {
			truth := end.Time.Sub(p.Time).Seconds()
			if pred := geo.DistanceM(p.Lat, p.Lng, t.to.Lat, t.to.Lng) / best; truth > 0 && pred > 0 {
				ratios = append(ratios, truth/pred)
			}
		}
	}
	b.lo, b.hi = narrowest(ratios, 0.8)
	return b
}

func (b baseline) predictor() predictor {
	return predictor{name: "baseline", drive: func(t *trip) []shown {
		out := make([]shown, len(t.ps)-1)
		for i := range out {
			left := geo.DistanceM(t.ps[i].Lat, t.ps[i].Lng, t.to.Lat, t.to.Lng) / b.speedMPS
			out[i] = shown{left: left, early: left * b.lo, late: left * b.hi}
		}
		return out
	}}
}

// narrowest is the narrowest interval holding share of xs (sorted in place).
func narrowest(xs []float64, share float64) (lo, hi float64) {
	slices.Sort(xs)
	k := int(math.Ceil(share*float64(len(xs)))) - 1
	best := math.Inf(1)
	for i := 0; i+k < len(xs); i++ {
		if w := xs[i+k] - xs[i]; w < best {
			best, lo, hi = w, xs[i], xs[i+k]
		}
	}
	return lo, hi
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func med(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func load(path string, minFixes int) ([]trip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ts, err := trips.Read(f, minFixes)
	if err != nil {
		return nil, err
	}
	out := make([]trip, len(ts))
	for i, t := range ts {
		out[i].id = t.ID
		for _, x := range t.Fixes {
			out[i].ps = append(out[i].ps, eta.Point{Lat: x.Lat, Lng: x.Lng, Time: x.Time})
		}
		out[i].to = out[i].ps[len(out[i].ps)-1]
	}
	return out, nil
}
