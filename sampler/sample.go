package sampler

import (
	"cmp"
	"slices"
	"time"

	"github.com/crinit/crinit/cgroup"
)

// Proc is one process's figures in a sample.
type Proc struct {
	PID     int
	PPID    int
	RSS     uint64 // resident memory, bytes
	Shared  uint64 // bytes of RSS backed by files or shared memory
	FDs     int    // open descriptors; -1 when unreadable
	FDLimit uint64 // its soft RLIMIT_NOFILE; 0 when unknown
	Comm    string // its command name (/proc/PID/comm) when first seen
}

// Sample is one reading of crinit's process tree and memory cgroup.
type Sample struct {
	At    time.Time
	Procs []Proc // parents before children; zombies and vanished processes left out
	// RSS is the tree's resident memory with shared pages counted once:
	// every process's private RSS plus the largest Shared of any one. A
	// plain sum counts libc and node's binary once per process, so a burst
	// of short-lived shells would look like a leak.
	RSS    uint64
	RSSSum uint64         // the plain sum of every process's RSS
	Cgroup *cgroup.Memory // nil when there is no cgroup (or it could not be read)
	Err    error          // what kept the sample from being complete
}

// TreeRSS is the resident memory of procs with shared pages counted
// once, as Sample.RSS is for the whole tree.
func TreeRSS(procs []Proc) uint64 {
	var rss, maxShared uint64
	for _, p := range procs {
		rss += p.RSS - p.Shared
		maxShared = max(maxShared, p.Shared)
	}
	return rss + maxShared
}

// Top returns the n processes of the sample with the largest RSS, largest
// first. It works on a copy: s.Procs keeps its order.
func (s Sample) Top(n int) []Proc {
	if n <= 0 || len(s.Procs) == 0 {
		return nil
	}
	ps := slices.Clone(s.Procs)
	slices.SortStableFunc(ps, func(a, b Proc) int { return cmp.Compare(b.RSS, a.RSS) })
	return ps[:min(n, len(ps))]
}

// FDs returns the open descriptors summed over the tree, unreadable counts
// left out, and the largest count of any one process.
func (s Sample) FDs() (sum, max int) {
	for _, p := range s.Procs {
		if p.FDs > 0 {
			sum += p.FDs
		}
		if p.FDs > max {
			max = p.FDs
		}
	}
	return sum, max
}
