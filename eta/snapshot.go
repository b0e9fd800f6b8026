package eta

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
)

// A snapshot is what a model has learned, so that a restart relearns only
// the history since it was taken rather than losing every week but the
// last two days (the hour-of-week paces need weeks). Layout, little-endian:
//
//	"ENRETA" version:u8 fineRes:u8 coarseRes:u8
//	global:{m,s f64} recent:{m,s f64} recentAt:i64 (Unix µs; 0 none)
//	(recent, and hourly below: from version 3 the seconds expected and
//	taken, before it metres and seconds)
//	n:uvarint, n × coarse {cell u64, m f64, s f64}
//	n:uvarint, n × fine {cell u64, bucket varint, m f64, s f64}
//	bands:uvarint, per band n:uvarint and n × f64 (detour), then the same (calibration)
//
// Versions 2 and 3 add, after them:
//
//	168 × hourly {m,s f64}
//	bins:uvarint, bins × fleet approach {n,sum,sq f64}
//	n:uvarint, n × area approach {cell u64, bin varint, n,sum,sq f64}, then the same (sites)
//	keys:uvarint, per key n:uvarint and n × f64 (errors, for ranges)
//
// Version 4 adds, last:
//
//	headings:u8 n:uvarint, n × headed {cell u64, heading u8, m f64, s f64}
//
// An older snapshot, or one of another number of headings, loads with no
// heading's paces: they learn from the driving after it, and until then
// each cell's pace in a heading is its pace in all.
//
// A version 1 snapshot still loads: its driving and detour ratios, with no
// approaches, hours or errors (they are learned from the arrivals after
// it); its calibration is dropped, being of whole estimates where version
// 2 calibrates the drive up to the final approach. A version 1 or 2
// snapshot's recent driving is dropped (learned again within a
// half-life; its time stays, what the snapshot has learned up to), and its
// hours' metres become the seconds the fleet's pace takes over them.
const (
	snapshotMagic   = "ENRETA"
	snapshotVersion = 4
)

// ErrSnapshotResolution is returned for a snapshot learned in cells of
// other resolutions than the model's: its cells mean nothing here.
var ErrSnapshotResolution = errors.New("eta: snapshot of other cell resolutions")

// LearnedUntil is the end of the newest driving the model has learned
// (zero before any).
func (m *Model) LearnedUntil() time.Time {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.recentAt
}

// MarshalBinary encodes what the model has learned (encoding.BinaryMarshaler).
// It holds the read lock while it encodes: estimates go on, learning waits.
func (m *Model) MarshalBinary() ([]byte, error) {
	b, _ := m.encode(snapshotVersion)
	return b, nil
}

// encode is MarshalBinary's encoding (versions 1 to 3: the older
// layouts, for tests) and the end of the newest driving it holds, read
// under the same lock.
func (m *Model) encode(version byte) ([]byte, time.Time) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b := make([]byte, 0, 64+len(m.coarse)*24+len(m.fine)*26+len(m.headed)*25)
	b = append(b, snapshotMagic...)
	b = append(b, version, byte(m.cfg.FineRes), byte(m.cfg.CoarseRes))
	b = appendStat(b, m.global)
	b = appendStat(b, m.recent)
	var at int64
	if !m.recentAt.IsZero() {
		at = m.recentAt.UnixMicro()
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(at))
	b = binary.AppendUvarint(b, uint64(len(m.coarse)))
	for c, st := range m.coarse {
		b = binary.LittleEndian.AppendUint64(b, uint64(c))
		b = appendStat(b, *st)
	}
	b = binary.AppendUvarint(b, uint64(len(m.fine)))
	for k, st := range m.fine {
		b = binary.LittleEndian.AppendUint64(b, uint64(k.cell))
		b = binary.AppendVarint(b, int64(k.bucket))
		b = appendStat(b, *st)
	}
	for _, samples := range [][][]float64{m.detour, m.calib} {
		b = appendSamples(b, samples)
	}
	if version == 1 { // for tests of loading one
		return b, m.recentAt
	}
	for _, st := range m.hourly {
		if version == 2 && m.global.s > 0 { // for tests: metres, at the fleet's pace
			st.m *= m.global.m / m.global.s
		}
		b = appendStat(b, st)
	}
	b = binary.AppendUvarint(b, uint64(len(m.appr.fleet)))
	for _, st := range m.appr.fleet {
		b = appendLogStat(b, st)
	}
	for _, mp := range []map[approachKey]*logStat{m.appr.area, m.appr.site} {
		b = binary.AppendUvarint(b, uint64(len(mp)))
		for k, st := range mp {
			b = binary.LittleEndian.AppendUint64(b, uint64(k.cell))
			b = binary.AppendVarint(b, int64(k.bin))
			b = appendLogStat(b, *st)
		}
	}
	b = appendSamples(b, m.spread.samples)
	if version < 4 {
		return b, m.recentAt
	}
	b = append(b, byte(m.cfg.Headings))
	b = binary.AppendUvarint(b, uint64(len(m.headed)))
	for k, st := range m.headed {
		b = binary.LittleEndian.AppendUint64(b, uint64(k.cell))
		b = append(b, byte(k.heading))
		b = appendStat(b, *st)
	}
	return b, m.recentAt
}

func appendSamples(b []byte, samples [][]float64) []byte {
	b = binary.AppendUvarint(b, uint64(len(samples)))
	for _, xs := range samples {
		b = binary.AppendUvarint(b, uint64(len(xs)))
		for _, x := range xs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
	}
	return b
}

func appendLogStat(b []byte, st logStat) []byte {
	for _, x := range []float64{st.n, st.sum, st.sq} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func appendStat(b []byte, st stat) []byte {
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(st.m))
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(st.s))
}

// UnmarshalBinary replaces what the model has learned with a snapshot
// (encoding.BinaryUnmarshaler). A snapshot that does not decode, or holds
// impossible values, is refused whole and the model is left as it was;
// one of other cell resolutions is refused with ErrSnapshotResolution.
func (m *Model) UnmarshalBinary(b []byte) error {
	r := snapshotReader{b: b}
	if string(r.bytes(len(snapshotMagic))) != snapshotMagic {
		return errors.New("eta: not a model snapshot")
	}
	version := r.byte()
	if r.err == nil && (version < 1 || version > snapshotVersion) {
		return fmt.Errorf("eta: snapshot version %d, want at most %d", version, snapshotVersion)
	}
	fineRes, coarseRes := int(r.byte()), int(r.byte())
	if r.err == nil && (fineRes != m.cfg.FineRes || coarseRes != m.cfg.CoarseRes) {
		return fmt.Errorf("%w: %d/%d, the model's %d/%d", ErrSnapshotResolution, fineRes, coarseRes, m.cfg.FineRes, m.cfg.CoarseRes)
	}
	global, recent := r.stat(), r.stat()
	var recentAt time.Time
	if at := int64(r.u64()); at != 0 {
		recentAt = time.UnixMicro(at).UTC()
	}
	coarse := map[geo.Cell]*stat{}
	for n := r.count(24); n > 0; n-- {
		c := geo.Cell(r.u64())
		st := r.stat()
		if r.err == nil && (c.Resolution() != coarseRes || !c.Valid()) {
			r.fail("a coarse cell of the wrong resolution")
		}
		coarse[c] = &st
	}
	fine := map[key]*stat{}
	for n := r.count(25); n > 0; n-- {
		c := geo.Cell(r.u64())
		bucket := r.varint()
		st := r.stat()
		if r.err == nil && (c.Resolution() != fineRes || !c.Valid() || bucket < -1 || bucket >= 7*24) {
			r.fail("a fine cell of the wrong resolution, or an hour past the week")
		}
		fine[key{c, int(bucket)}] = &st
	}
	samples := func(keys, most int) [][]float64 {
		bands := r.count(1)
		if r.err == nil && bands != keys {
			r.fail("another number of distance bands")
			return nil
		}
		out := make([][]float64, bands)
		for i := range out {
			n := r.count(8)
			if n > most {
				r.fail("too many samples")
			}
			for ; n > 0 && r.err == nil; n-- {
				x := r.f64()
				if !(x > 0) || math.IsInf(x, 1) {
					r.fail("a ratio that is not positive")
				}
				out[i] = append(out[i], x)
			}
		}
		return out
	}
	detour, calib := samples(len(detourBands), maxDetourSamples), samples(len(detourBands), maxDetourSamples)
	var hourly [7 * 24]stat
	appr, spread := newApproach(m.cfg.CoarseRes), newSpreads()
	if version == 1 {
		calib = make([][]float64, len(detourBands))
	} else {
		for h := range hourly {
			hourly[h] = r.stat()
		}
		if n := r.count(24); r.err == nil && n != approachBins {
			r.fail("another number of approach bins")
		}
		for b := range appr.fleet {
			appr.fleet[b] = r.logStat()
		}
		for _, lv := range []struct {
			mp  map[approachKey]*logStat
			res int
		}{{appr.area, coarseRes}, {appr.site, siteRes}} {
			for n := r.count(33); n > 0; n-- {
				c := geo.Cell(r.u64())
				bin := r.varint()
				st := r.logStat()
				if r.err == nil && (c.Resolution() != lv.res || !c.Valid() || bin < 0 || bin >= int64(approachBins) || st.n < 1) {
					r.fail("an approach's cell of the wrong resolution, a bin past the last, or no drives")
				}
				lv.mp[approachKey{c, int(bin)}] = &st
			}
		}
		spread.samples = samples(len(spread.samples), spreadMax)
	}
	headed := map[headedKey]*stat{}
	if version >= 4 {
		headings := int(r.byte())
		for n := r.count(25); n > 0; n-- {
			c := geo.Cell(r.u64())
			h := int(r.byte())
			st := r.stat()
			if r.err == nil && (c.Resolution() != fineRes || !c.Valid() || h >= headings) {
				r.fail("a headed cell of the wrong resolution, or a heading past the last")
			}
			headed[headedKey{c, h}] = &st
		}
		if headings != m.cfg.Headings || headings < 2 {
			headed = map[headedKey]*stat{} // other sectors, or none learned
		}
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("bytes after the end")
	}
	if r.err != nil {
		return fmt.Errorf("eta: bad snapshot: %w", r.err)
	}
	m.lock()
	defer m.mu.Unlock()
	if version < 3 {
		// Metres and seconds, not seconds expected and taken: recent
		// driving is dropped, and each hour's metres become the seconds
		// the fleet's pace would take (the hour factors as they were).
		recent = stat{}
		if global.m > 0 {
			for h := range hourly {
				hourly[h].m *= global.s / global.m
			}
		}
	}
	m.global, m.recent, m.recentAt = global, recent, recentAt
	m.coarse, m.fine, m.headed, m.detour, m.calib = coarse, fine, headed, detour, calib
	for b := range detourBands {
		m.detourMed[b], m.calibMed[b] = median(m.detour[b]), median(m.calib[b])
	}
	m.hourly = hourly
	if kArea, kSite, ok := appr.weights(); ok {
		appr.kArea, appr.kSite = kArea, kSite
	}
	m.appr = appr
	all := make([]int, len(spread.samples))
	for k := range all {
		all[k] = k
	}
	spread.install(spread.rangesOf(all))
	m.spread = spread
	return nil
}

// snapshotReader reads a snapshot; its first error sticks and every read
// after it returns zero values.
type snapshotReader struct {
	b   []byte
	err error
}

func (r *snapshotReader) fail(what string) {
	if r.err == nil {
		r.err = errors.New(what)
	}
	r.b = nil
}

func (r *snapshotReader) bytes(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.fail("cut short")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *snapshotReader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *snapshotReader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *snapshotReader) f64() float64 { return math.Float64frombits(r.u64()) }

// stat reads metres and seconds driven, both finite and not negative.
func (r *snapshotReader) stat() stat {
	st := stat{m: r.f64(), s: r.f64()}
	if !(st.m >= 0 && st.s >= 0) || math.IsInf(st.m, 1) || math.IsInf(st.s, 1) {
		r.fail("a distance or time that is negative or not a number")
		return stat{}
	}
	return st
}

// logStat reads a count of samples, not negative, and their sums.
func (r *snapshotReader) logStat() logStat {
	st := logStat{n: r.f64(), sum: r.f64(), sq: r.f64()}
	if !(st.n >= 0 && st.sq >= 0) || math.IsInf(st.n, 1) || math.IsInf(st.sq, 1) || math.IsNaN(st.sum) || math.IsInf(st.sum, 0) {
		r.fail("an approach's count or sums that are negative or not a number")
		return logStat{}
	}
	return st
}

func (r *snapshotReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("a bad number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads how many entries of at least size bytes follow: never more
// than the bytes left could hold, so a corrupt count cannot ask for memory.
func (r *snapshotReader) count(size int) int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > uint64(len(r.b)-n)/uint64(size) {
		r.fail("a count past the end")
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

// Save stores the model's snapshot, with the end of the newest driving it
// holds (the snapshot holds it too; the column is for people reading the
// table).
func (m *Model) Save(ctx context.Context, store enroute.ModelStore) error {
	data, until := m.encode(snapshotVersion)
	return store.SaveModel(ctx, &enroute.ModelSnapshot{Data: data, LearnedUntil: until})
}

// Load replaces what the model has learned with the stored snapshot and
// returns the end of the newest driving it holds: the history after that
// is what is left to relearn (LearnHistory). With no snapshot stored it
// returns the zero time and no error.
func (m *Model) Load(ctx context.Context, store enroute.ModelStore) (time.Time, error) {
	s, err := store.FindModel(ctx)
	if enroute.ErrorCode(err) == enroute.ENOTFOUND {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, fmt.Errorf("read the saved model: %w", err)
	}
	if err := m.UnmarshalBinary(s.Data); err != nil {
		return time.Time{}, err
	}
	return m.LearnedUntil(), nil
}
