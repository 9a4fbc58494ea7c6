package supervisor

import (
	"context"
	"runtime/debug"
	"sync"
	"time"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/procfs"
	"github.com/crinit/crinit/sampler"
)

// The loop's workers: goroutines that only send it events, and end with
// Run.

// workerPanic is a panic that ended one of the loop's worker goroutines.
type workerPanic struct {
	worker string
	value  any
	stack  []byte
}

// startSampler starts the tree's sampler, which sends to in.samples at
// the interval the loop sets (paceSampling); none when SampleInterval is 0.
func (s *Supervisor) startSampler(ctx context.Context, wg *sync.WaitGroup, in *inputs) {
	if s.cfg.SampleInterval <= 0 {
		return
	}
	samples := make(chan sampler.Sample, 1)
	in.samples = samples
	s.sampleIvl, s.sampleAt = make(chan time.Duration, 1), s.cfg.SampleInterval
	smp := sampler.New(procfs.NewFS(s.cfg.ProcRoot), s.self, s.cfg.Cgroup)
	worker(wg, "sampler", in.panics, func() {
		smp.Run(ctx, s.cfg.SampleInterval, s.sampleIvl, samples, s.root.Named("sampler"))
	})
}

// watchMemory starts the watcher of the cgroup's memory events, which
// sends to in.events; nil when there is no cgroup or the kernel refuses a
// watch (then each sample reads the counters). Closing the watch ends it.
func (s *Supervisor) watchMemory(wg *sync.WaitGroup, in *inputs) *cgroup.EventWatch {
	cg := s.cfg.Cgroup
	if cg == nil {
		return nil
	}
	w, err := cg.WatchEvents()
	if err != nil {
		s.log.Info("memory events polled", "interval_ms", s.cfg.SampleInterval.Milliseconds(), "error", err)
		return nil
	}
	events := make(chan cgroup.Events, 1)
	in.events = events
	worker(wg, "memory events", in.panics, func() { watchEvents(w, cg, events, s.log) })
	return w
}

// worker runs f on a goroutine of its own; a panic that escapes f becomes
// an event for the loop instead of taking PID 1 down.
func worker(wg *sync.WaitGroup, name string, panics chan<- workerPanic, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			if r := recover(); r != nil {
				select {
				case panics <- workerPanic{worker: name, value: r, stack: debug.Stack()}:
				default:
				}
			}
		}()
		f()
	}()
}
