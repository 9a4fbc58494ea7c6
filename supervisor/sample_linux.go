package supervisor

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/crinit/crinit/limits"
)

// rlimitNofile is RLIMIT_NOFILE's resource number in gopsutil's RlimitStat.
const rlimitNofile = 7

// procSample is one process's figures in a sample.
type procSample struct {
	PID     int32
	RSS     uint64 // bytes
	Shared  uint64 // bytes of RSS backed by files or shared memory
	FDs     int    // open descriptors; -1 when unreadable
	FDLimit uint64 // its soft RLIMIT_NOFILE; 0 when unknown
	p       *process.Process
}

// sample is one reading of crinit's process tree and memory cgroup.
type sample struct {
	At    time.Time
	Procs []procSample // parents before children
	// RSS is the tree's resident memory with shared pages counted once:
	// every process's private RSS plus the largest shared RSS of any one.
	// A plain sum counts libc and node's binary once per process, so a
	// burst of short-lived shells would look like a leak.
	RSS    uint64
	RSSSum uint64 // the plain sum of every process's RSS
	Cgroup *limits.Memory
	Err    error
}

// sampleTree reads the RSS, descriptor count and descriptor limit of every
// descendant of self, and the cgroup's memory when cg is not nil.
func sampleTree(ctx context.Context, self int32, cg *limits.Cgroup, now time.Time) sample {
	s := sample{At: now}
	ps, err := tree(ctx, self)
	if err != nil {
		s.Err = err
		return s
	}
	s.Procs = make([]procSample, 0, len(ps))
	var maxShared uint64
	for _, p := range ps {
		mem, err := p.MemoryInfoExWithContext(ctx) // one read of /proc/PID/statm
		if err != nil {
			continue // gone since the walk
		}
		shared := min(mem.Shared, mem.RSS)
		ps := procSample{PID: p.Pid, RSS: mem.RSS, Shared: shared, FDs: -1, p: p}
		if n, err := p.NumFDsWithContext(ctx); err == nil {
			ps.FDs = int(n)
		}
		if rl, err := p.RlimitWithContext(ctx); err == nil {
			for _, r := range rl {
				if r.Resource == rlimitNofile {
					ps.FDLimit = r.Soft
				}
			}
		}
		s.RSS += mem.RSS - shared
		s.RSSSum += mem.RSS
		maxShared = max(maxShared, shared)
		s.Procs = append(s.Procs, ps)
	}
	s.RSS += maxShared
	if cg != nil {
		if m, err := cg.Read(); err == nil {
			s.Cgroup = &m
		} else {
			s.Err = fmt.Errorf("read cgroup: %w", err)
		}
	}
	return s
}

// topRSS describes the n largest processes of a sample for a log line.
func (s sample) topRSS(ctx context.Context, n int) []map[string]any {
	ps := append([]procSample(nil), s.Procs...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].RSS > ps[j].RSS })
	out := make([]map[string]any, 0, n)
	for _, p := range ps[:min(n, len(ps))] {
		out = append(out, map[string]any{"pid": p.PID, "rss_bytes": p.RSS, "command": command(ctx, p.p)})
	}
	return out
}

// snapshotFlag is the node option that makes SIGUSR2 write a heap
// snapshot; without it SIGUSR2 kills node.
const snapshotFlag = "--heapsnapshot-signal=SIGUSR2"

// snapshotPIDs returns the processes of the sample that write a heap
// snapshot on SIGUSR2: node processes started with snapshotFlag, in their
// argv or their NODE_OPTIONS. A node process without it would die of the
// signal.
func (s sample) snapshotPIDs(ctx context.Context) []int32 {
	var out []int32
	for _, p := range s.Procs {
		args, err := p.p.CmdlineSliceWithContext(ctx)
		if err != nil || len(args) == 0 || !limits.IsNode(args[0]) {
			continue
		}
		if slices.Contains(args, snapshotFlag) {
			out = append(out, p.PID)
			continue
		}
		env, err := p.p.EnvironWithContext(ctx)
		if err != nil {
			continue
		}
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok && slices.Contains(strings.Fields(v), snapshotFlag) {
				out = append(out, p.PID)
			}
		}
	}
	return out
}

// sampler samples crinit's tree every interval and hands each sample to
// out, dropping it when the owner is still busy with the last one. It owns
// nothing but its ticker and returns when ctx is done. A panic while
// sampling becomes a sample with an error, and sampling goes on.
func (s *Supervisor) sampler(ctx context.Context, out chan<- sample, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			select {
			case out <- s.sampleOnce(now):
			default:
			}
		}
	}
}

func (s *Supervisor) sampleOnce(now time.Time) (smp sample) {
	defer func() {
		if r := recover(); r != nil {
			smp = sample{At: now, Err: fmt.Errorf("sampler panic: %v", r)}
		}
	}()
	return sampleTree(s.ctx, s.self, s.cfg.Cgroup, now)
}
