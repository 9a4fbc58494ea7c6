package sampler

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/procfs"
)

// warnEvery spaces out the "sample incomplete" warnings: a tree that cannot
// be read usually stays so, and one line a tick would drown the log.
const warnEvery = time.Minute

// Sampler reads the tree of descendants of one pid; it belongs to the
// goroutine that calls Sample or Run. Each sample reads the statm and the
// descriptor count of each process of the tree; a process's RLIMIT_NOFILE,
// which seldom changes, is read once. The tree itself (the children files
// of every thread) is walked again only when it may have changed: a
// process was created in the PID namespace, or one of the tree exited.
type Sampler struct {
	fs   *procfs.FS
	self int
	cg   *cgroup.Cgroup
	page uint64
	seen map[int]once // what is read once, by PID, of the processes seen lately

	tree    []procfs.Proc // the last walk's
	lastPID int           // the namespace's last PID before that walk; 0: walk again
	zombies int           // zombies of the tree at the last sample

	unreaped func() bool // whether self has exited children not reaped yet; nil: not asked
}

// reapPoll is how often a sample held back by unreaped children looks again.
const reapPoll = 2 * time.Millisecond

// once is what the Sampler reads of a process when it first sees it.
type once struct {
	nofile uint64
	comm   string
}

// New returns a Sampler of the descendants of self, read through fs (nil
// means a new FS on /proc), and of the memory cgroup cg (nil: none). The
// Sampler takes fs over: no other goroutine may use it.
func New(fs *procfs.FS, self int, cg *cgroup.Cgroup) *Sampler {
	if fs == nil {
		fs = procfs.NewFS("")
	}
	s := &Sampler{fs: fs, self: self, cg: cg, page: uint64(os.Getpagesize()), seen: map[int]once{}}
	if self == os.Getpid() {
		s.unreaped = exitedChild
	}
	return s
}

// exitedChild says whether this process has an exited child it has not
// reaped: waitid with WNOWAIT finds one and leaves it for the reaper.
func exitedChild() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err == nil && info.Signo == int32(unix.SIGCHLD)
}

// awaitReaped holds a sample due at now back, for at most limit and not
// past ctx, while the process has exited children not reaped yet. In a
// burst of orphans the reaper is collecting thousands of zombies; a walk
// would list them and read each (they hold no memory), and slow the
// reaping beside it. It returns when the sample is taken: now, or the time
// the wait ended.
func (s *Sampler) awaitReaped(ctx context.Context, now time.Time, limit time.Duration) time.Time {
	if s.unreaped == nil || !s.unreaped() {
		return now
	}
	poll := time.NewTicker(reapPoll)
	defer poll.Stop()
	// From now, not from the tick: a tick delivered late (crinit was
	// stopped, or busy) would leave no wait at all.
	for end := time.Now().Add(limit); ; {
		select {
		case <-ctx.Done():
			return time.Now()
		case t := <-poll.C:
			if !s.unreaped() || !t.Before(end) {
				return time.Now()
			}
		}
	}
}

// Sample reads every descendant's RSS, shared RSS, descriptor count and
// descriptor limit, and the cgroup's memory. A process gone mid-sample, or
// a zombie (no resident pages), is left out. A panic while sampling
// becomes a Sample whose Err says so.
func (s *Sampler) Sample(now time.Time) (smp Sample) {
	defer func() {
		if r := recover(); r != nil {
			smp = Sample{At: now, Err: fmt.Errorf("sampler panic: %v", r)}
		}
	}()
	return s.sample(now)
}

func (s *Sampler) sample(now time.Time) Sample {
	smp := Sample{At: now}
	tree, err := s.walk()
	if err != nil {
		smp.Err = fmt.Errorf("walk process tree: %w", err)
		return smp
	}
	smp.Procs = make([]Proc, 0, len(tree))
	zombies := 0
	for _, t := range tree {
		m, err := s.fs.Statm(t.PID)
		if err != nil {
			s.lastPID = 0 // gone: its children have a new parent
			continue
		}
		if m.Resident == 0 {
			zombies++
			continue
		}
		p := Proc{PID: t.PID, PPID: t.PPID, RSS: m.Resident * s.page, Shared: min(m.Shared, m.Resident) * s.page, FDs: s.fs.FDCount(t.PID)}
		o, ok := s.seen[p.PID]
		if !ok {
			o.nofile = s.fs.NofileLimit(p.PID)
			o.comm, _ = s.fs.Comm(p.PID)
			s.seen[p.PID] = o
		}
		p.FDLimit, p.Comm = o.nofile, o.comm
		smp.RSSSum += p.RSS
		smp.Procs = append(smp.Procs, p)
	}
	if zombies != s.zombies { // a new zombie's children have a new parent
		s.zombies, s.lastPID = zombies, 0
	}
	smp.RSS = TreeRSS(smp.Procs)
	s.prune(smp.Procs)
	if s.cg != nil {
		if m, err := s.cg.Read(); err == nil {
			smp.Cgroup = &m
		} else {
			smp.Err = fmt.Errorf("read cgroup: %w", err)
		}
	}
	return smp
}

// walk returns the tree under s.self: the last walk's while the namespace's
// last PID has not moved and the samples since found no process of it gone
// or newly a zombie, else a new walk. Where the last PID cannot be read
// (a procfs of another kind), every sample walks.
func (s *Sampler) walk() ([]procfs.Proc, error) {
	last, err := s.fs.LastPID()
	if err == nil && last != 0 && last == s.lastPID {
		return s.tree, nil
	}
	tree, werr := s.fs.Descendants(s.self)
	if werr != nil {
		s.lastPID = 0
		return nil, werr
	}
	s.tree, s.lastPID = tree, last // read before the walk: a fork during it walks again
	return tree, nil
}

// prune forgets the limits of processes gone, once they outnumber the
// living: a PID reused later must have its limit read anew.
func (s *Sampler) prune(live []Proc) {
	if len(s.seen) <= 2*len(live)+16 {
		return
	}
	kept := make(map[int]once, len(live))
	for _, p := range live {
		kept[p.PID] = s.seen[p.PID]
	}
	s.seen = kept
}

// Run samples every interval (which must be positive), each sample held
// back while the process has children to reap (for a quarter of the
// interval at most), and hands each Sample to out without blocking: a
// sample the owner is too busy to take is dropped. A duration received on pace (nil: none) is the interval
// from then on. It returns when ctx is done. A Sample with an Err is logged
// as "sample incomplete" at most once a minute. A panic in Run itself is
// logged as "panic recovered" and ends Run. log is used as given (name it
// before); nil discards.
func (s *Sampler) Run(ctx context.Context, interval time.Duration, pace <-chan time.Duration, out chan<- Sample, log hclog.Logger) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	defer func() {
		if r := recover(); r != nil {
			log.Error("panic recovered", "event", "sampler", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	var warned time.Time
	for {
		select {
		case d := <-pace:
			if d > 0 && d != interval {
				interval = d
				t.Reset(d)
			}
		case <-ctx.Done():
			return
		case now := <-t.C:
			now = s.awaitReaped(ctx, now, interval/4)
			smp := s.Sample(now)
			if smp.Err != nil && (warned.IsZero() || now.Sub(warned) >= warnEvery) {
				log.Warn("sample incomplete", "error", smp.Err)
				warned = now
			}
			select {
			case out <- smp:
			default:
			}
		}
	}
}
