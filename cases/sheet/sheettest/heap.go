package sheettest

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// HeapPeak runs fn and returns the most heap its objects took meanwhile above what they
// took before, sampled every 2 ms without stopping the world. Tests that use it must not
// run in parallel with others.
func HeapPeak(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	note := func() {
		if v := read(); v > peak.Load() {
			peak.Store(v)
		}
	}
	go func() {
		defer close(done)
		for {
			note()
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	note()
	if peak.Load() < base {
		return 0
	}
	return peak.Load() - base
}
