package supervisor

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/limits"
)

// procSample is one process's figures in a sample.
type procSample struct {
	PID     int32
	RSS     uint64 // bytes
	Shared  uint64 // bytes of RSS backed by files or shared memory
	FDs     int    // open descriptors; -1 when unreadable
	FDLimit uint64 // its soft RLIMIT_NOFILE; 0 when unknown
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
	Cgroup *cgroup.Memory
	Err    error
}

// treeSampler reads the tree every tick. It runs on the sampler goroutine,
// which owns it. Each sample reads only the tree (children files, statm
// and the fd directory of each process); a process's RLIMIT_NOFILE, which
// seldom changes, is read once.
type treeSampler struct {
	ctx    context.Context // procfs root, for the tree walk
	root   string
	page   uint64
	nofile map[int32]uint64
	buf    procBuf
}

func newTreeSampler(ctx context.Context) *treeSampler {
	return &treeSampler{ctx: ctx, root: procRootOf(ctx), page: uint64(os.Getpagesize()), nofile: map[int32]uint64{}}
}

// sample reads the RSS, shared RSS, descriptor count and descriptor limit
// of every descendant of self, and the cgroup's memory when cg is not nil.
// A process gone mid-sample, or a zombie (no resident pages), is left out.
func (ts *treeSampler) sample(self int32, cg *cgroup.Cgroup, now time.Time) sample {
	s := sample{At: now}
	pids, err := treePIDs(ts.ctx, self, &ts.buf)
	if err != nil {
		s.Err = err
		return s
	}
	s.Procs = make([]procSample, 0, len(pids))
	var maxShared uint64
	for _, pid := range pids {
		dir := ts.root + "/" + strconv.Itoa(int(pid)) + "/"
		resident, shared, err := ts.statm(dir + "statm")
		if err != nil || resident == 0 {
			continue
		}
		ps := procSample{PID: pid, RSS: resident * ts.page, Shared: min(shared, resident) * ts.page, FDs: ts.buf.countEntries(dir + "fd")}
		lim, ok := ts.nofile[pid]
		if !ok {
			lim = ts.readNofile(dir + "limits")
			ts.nofile[pid] = lim
		}
		ps.FDLimit = lim
		s.RSS += ps.RSS - ps.Shared
		s.RSSSum += ps.RSS
		maxShared = max(maxShared, ps.Shared)
		s.Procs = append(s.Procs, ps)
	}
	s.RSS += maxShared
	if len(ts.nofile) > 2*len(s.Procs)+16 { // forget the limits of processes gone
		live := make(map[int32]uint64, len(s.Procs))
		for _, p := range s.Procs {
			live[p.PID] = ts.nofile[p.PID]
		}
		ts.nofile = live
	}
	if cg != nil {
		if m, err := cg.Read(); err == nil {
			s.Cgroup = &m
		} else {
			s.Err = fmt.Errorf("read cgroup: %w", err)
		}
	}
	return s
}

// statm reads the resident and shared page counts of proc(5)'s statm.
func (ts *treeSampler) statm(path string) (resident, shared uint64, err error) {
	b, err := ts.buf.read(path)
	if err != nil {
		return 0, 0, err
	}
	_, rest := nextField(b)
	resident, rest = nextUint(rest)
	shared, _ = nextUint(rest)
	return resident, shared, nil
}

// readNofile reads the soft "Max open files" of proc(5)'s limits; 0 when
// unknown or unlimited.
func (ts *treeSampler) readNofile(path string) uint64 {
	b, err := ts.buf.read(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// nextField splits off b's first space-separated field.
func nextField(b []byte) (field, rest []byte) {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n') {
		b = b[1:]
	}
	i := 0
	for i < len(b) && b[i] != ' ' && b[i] != '\n' {
		i++
	}
	return b[:i], b[i:]
}

// nextUint parses b's first field as a decimal number (0 when it is not).
func nextUint(b []byte) (uint64, []byte) {
	f, rest := nextField(b)
	var n uint64
	for _, c := range f {
		if c < '0' || c > '9' {
			return 0, rest
		}
		n = n*10 + uint64(c-'0')
	}
	return n, rest
}

// topRSS describes the n largest processes of a sample for a log line.
func (s sample) topRSS(ctx context.Context, n int) []map[string]any {
	ps := append([]procSample(nil), s.Procs...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].RSS > ps[j].RSS })
	out := make([]map[string]any, 0, n)
	for _, p := range ps[:min(n, len(ps))] {
		out = append(out, map[string]any{"pid": p.PID, "rss_bytes": p.RSS, "command": commandOf(ctx, p.PID)})
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
	for _, ps := range s.Procs {
		p, err := process.NewProcessWithContext(ctx, ps.PID)
		if err != nil {
			continue
		}
		args, err := p.CmdlineSliceWithContext(ctx)
		if err != nil || len(args) == 0 || !limits.IsNode(args[0]) {
			continue
		}
		if slices.Contains(args, snapshotFlag) {
			out = append(out, ps.PID)
			continue
		}
		env, err := p.EnvironWithContext(ctx)
		if err != nil {
			continue
		}
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok && slices.Contains(strings.Fields(v), snapshotFlag) {
				out = append(out, ps.PID)
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
	ts := newTreeSampler(s.ctx)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			select {
			case out <- s.sampleOnce(ts, now):
			default:
			}
		}
	}
}

func (s *Supervisor) sampleOnce(ts *treeSampler, now time.Time) (smp sample) {
	defer func() {
		if r := recover(); r != nil {
			smp = sample{At: now, Err: fmt.Errorf("sampler panic: %v", r)}
		}
	}()
	return ts.sample(s.self, s.cfg.Cgroup, now)
}
