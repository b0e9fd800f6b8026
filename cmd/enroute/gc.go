package main

import (
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/enroutehq/enroute/internal/gcpace"
)

// paceGC spaces Go's garbage collections out as --gc-spacing asks, unless
// GOGC is set (then Go's own pacing, as the operator chose). It paces the
// process, not one Main: main calls it, after Run (tests run many Mains in
// one process and leave Go's default alone).
func (m *Main) paceGC() (stop func()) {
	c := m.Config
	if c.GCSpacing == 0 {
		return func() {}
	}
	if v := m.Getenv("GOGC"); v != "" {
		m.Logger.Info("garbage collection paced by GOGC", "gogc", v)
		return func() {}
	}
	ceiling := uint64(c.GCCeilingMB) << 20
	if ceiling == 0 {
		ceiling = defaultGCCeiling()
	}
	// GOMEMLIMIT, when set, bounds all of Go's memory (stacks and the
	// runtime's too): the heap goal is kept to half of it, so that the
	// limit is not what starts collections (negative: read, not set).
	ceiling = min(ceiling, uint64(debug.SetMemoryLimit(-1))/2)
	m.Logger.Info("garbage collections spaced", "spacing", c.GCSpacing, "heap_ceiling_mb", ceiling>>20)
	return gcpace.Start(gcpace.Config{Spacing: c.GCSpacing, Ceiling: ceiling})
}

// defaultGCCeiling is a quarter of the memory the process may use (its
// cgroup's limit, else the machine's), at most 1 GiB.
func defaultGCCeiling() uint64 {
	total, err := memlimit.FromCgroup()
	if err != nil || total == 0 {
		total, err = memlimit.FromSystem()
	}
	if err != nil || total == 0 {
		return 256 << 20
	}
	return min(total/4, 1<<30)
}
