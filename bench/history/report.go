package main

// The run's figures as markdown for BENCHMARKS.md, and what they say of a
// larger fleet.

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

const (
	// The extrapolation's fleet and year: 52 weeks of 5 working days.
	bigFleet    = 10_000
	workingDays = 260
)

// report writes the run's tables and the extrapolation.
func report(w io.Writer, r *result) {
	c := r.Cfg
	perTechDay := c.Fixes / (c.Techs * c.Days)
	var ingest, gen time.Duration
	for _, d := range r.Days {
		ingest, gen = ingest+d.Took, gen+d.Gen
	}
	rate := float64(c.Fixes) / ingest.Seconds()
	last := r.Sizes[len(r.Sizes)-1]

	fmt.Fprintf(w, "\n### As the history grows\n\n")
	fmt.Fprintf(w, "| after day | fixes stored | that day: fixes/s | batch p50 / p99 | bytes a fix (table + indexes) | database |\n|---|---|---|---|---|---|\n")
	for _, s := range r.Sizes {
		d := r.Days[s.AfterDay-1]
		fmt.Fprintf(w, "| %d | %s | %s | %s / %s | %.1f (%.1f + %.1f) | %s |\n", s.AfterDay, thousands(s.Rows),
			perSecond(d.Fixes, d.Took), ms(d.Batches.P50), ms(d.Batches.P99),
			perFix(s.Total, s.Rows), perFix(s.Table, s.Rows), perFix(s.Indexes, s.Rows), gb(s.DBBytes))
	}
	slowest, fastest := r.Days[0], r.Days[0]
	for _, d := range r.Days {
		if d.Took*time.Duration(slowest.Fixes) > slowest.Took*time.Duration(d.Fixes) {
			slowest = d
		}
		if d.Took*time.Duration(fastest.Fixes) < fastest.Took*time.Duration(d.Fixes) {
			fastest = d
		}
	}

	fmt.Fprintf(w, "\n### Summary\n\n| measure | figure |\n|---|---|\n")
	row := func(m, f string, args ...any) { fmt.Fprintf(w, "| %s | %s |\n", m, fmt.Sprintf(f, args...)) }
	row("history written", "%s fixes: %s technicians, %d days, %s a technician a day (a fix every %g s while driving); batches of %s on %d goroutines",
		thousands(int64(c.Fixes)), thousands(int64(c.Techs)), c.Days, thousands(int64(perTechDay)), c.Interval.Seconds(), thousands(int64(c.Batch)), c.Workers)
	row("ingest, all days (fixes generated on the same cores)", "%s fixes/s: %v writing (%v of it generating), %v with checkpoints",
		thousands(int64(rate)), ingest.Round(time.Second), gen.Round(time.Second), r.IngestDur.Round(time.Second))
	row("ingest, slowest / fastest day", "%s / %s fixes/s (days %d / %d)", perSecond(slowest.Fixes, slowest.Took),
		perSecond(fastest.Fixes, fastest.Took), dayIndex(r, slowest), dayIndex(r, fastest))
	row("EnsurePartitions each simulated hour (the housekeeping's), the longest", "%s", ms(r.MaxEnsure))
	row("bytes a fix with indexes, after day 1 / the last", "%.1f / %.1f", perFix(r.Sizes[0].Total, r.Sizes[0].Rows), perFix(last.Total, last.Rows))
	row(fmt.Sprintf("one technician's day, %s fixes (Unlimited), median of %d", thousands(int64(r.TechDayRows)), r.TechDay.N), "%s", ms(r.TechDay.Median))
	row(fmt.Sprintf("its first page (the API's default), median of %d", r.TechDayPage.N), "%s", ms(r.TechDayPage.Median))
	row(fmt.Sprintf("start-up: each technician's latest position since a day before the end (%s), median of %d", thousands(int64(r.LatestRows)), r.Latest.N), "%s", ms(r.Latest.Median))
	row(fmt.Sprintf("start-up with no saved model: the ETA learning window (%g h), %s positions in %d reads", etaHistory.Hours(), thousands(int64(r.LearnRows)), r.LearnQueries),
		"read in %v; %v with learning", r.LearnRead.Round(time.Millisecond), r.LearnAll.Round(time.Millisecond))
	row(fmt.Sprintf("retention: the oldest day dropped (%s rows) while %s fixes/s stream in", thousands(r.Dropped), thousands(int64(c.StreamRate))), "%v", r.DropDur.Round(time.Millisecond))
	row(fmt.Sprintf("that stream's batch (%d fixes) p50 / p99 / max: before / during / after the drop", r.StreamBatch), "%s / %s / %s (%d); %s / %s / %s (%d); %s / %s / %s (%d)",
		ms(r.Before.P50), ms(r.Before.P99), ms(r.Before.Max), r.Before.N, ms(r.During.P50), ms(r.During.P99), ms(r.During.Max), r.During.N,
		ms(r.After.P50), ms(r.After.P99), ms(r.After.Max), r.After.N)
	row("counted at the end (written - dropped + streamed)", "%s in %v", thousands(r.Counted), r.CountDur.Round(time.Millisecond))
	row("database on disk, after ingest / at the end", "%s / %s", gb(r.DBBytesAfterIngest), gb(r.DBBytesEnd))
	row("total time", "%v", r.Total.Round(time.Second))
	if r.Analyzed {
		fmt.Fprintf(w, "\nautovacuum was off: each day's partition was analyzed once written, as autovacuum would.\n")
	}

	// At this workload's fixes a technician a day and the last bytes a fix.
	bpf := perFix(last.Total, last.Rows)
	yearFixes := float64(bigFleet) * float64(perTechDay) * workingDays
	dayFixes := float64(bigFleet) * float64(perTechDay)
	avg, peak := dayFixes/workday.Seconds(), float64(bigFleet)/c.Interval.Seconds()
	fmt.Fprintf(w, "\n### Extrapolated to %s technicians for a year (%d working days), from the figures above\n\n", thousands(bigFleet), workingDays)
	fmt.Fprintf(w, "- %s fixes a day (%s a technician), %.2f billion a year; at %.1f bytes a fix: a day's partition %s, a year %.2f TB.\n",
		thousands(int64(dayFixes)), thousands(int64(perTechDay)), yearFixes/1e9, bpf, gb(int64(dayFixes*bpf)), yearFixes*bpf/1e12)
	fmt.Fprintf(w, "- writes: %s fixes/s averaged over the %g-hour day, %s/s with every technician driving at once; measured ingest %s fixes/s, %.0fx that peak; a day's fixes written in %v.\n",
		thousands(int64(avg)), workday.Hours(), thousands(int64(peak)), thousands(int64(rate)), rate/peak, time.Duration(dayFixes/rate*float64(time.Second)).Round(time.Second))
	fmt.Fprintf(w, "- retention drops one day's partition a day: %s rows took %v here, a DROP TABLE after counting them.\n", thousands(r.Dropped), r.DropDur.Round(time.Millisecond))
}

func perSecond(n int, d time.Duration) string {
	return thousands(int64(math.Round(float64(n) / d.Seconds())))
}

func dayIndex(r *result, d dayResult) int {
	return int(d.Day.Sub(r.First)/(24*time.Hour)) + 1
}

func gb(b int64) string {
	if b >= 1e9 {
		return fmt.Sprintf("%.2f GB", float64(b)/1e9)
	}
	return fmt.Sprintf("%.0f MB", float64(b)/1e6)
}

// thousands writes n with commas: 100,000,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}
