package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/probe"
	"github.com/crinit/crinit/procfs"
	"github.com/crinit/crinit/sampler"
)

const (
	// sigBuffer holds signals that arrive while the loop is busy; Go drops
	// what does not fit. runc uses the same size.
	sigBuffer = 2048
	// reapTick drains wait4 even when a SIGCHLD was coalesced or lost, as
	// tini does; so does every sample, when the tree is sampled.
	reapTick = time.Second
	// orphanPublish bounds how stale the published orphan count may be.
	orphanPublish = 100 * time.Millisecond
)

// Supervisor runs one child as PID 1 would. Build it with New; Run it once.
// All its fields but status belong to the goroutine that calls Run.
type Supervisor struct {
	cfg      Config
	log      hclog.Logger // the supervisor's decisions
	reapLog  hclog.Logger
	probeLog hclog.Logger
	root     hclog.Logger // names the workers' loggers
	host     host
	self     int
	restarts *Restarts

	gens     []*generation // generations not yet exited, oldest first
	current  *generation   // the newest generation; nil before the first start
	backoff  *backoffWait  // waiting to start the next child; nil when not
	shutdown bool          // SIGTERM, SIGINT or SIGQUIT arrived: never restart
	done     bool
	exitCode int

	probeIvl  chan time.Duration // to the prober: its interval from now on
	probeAt   time.Duration      // the interval last asked for
	sampleIvl chan time.Duration // to the sampler: its interval from now on
	sampleAt  time.Duration      // the interval last asked for
	paced     paceReading        // the last sample's figures, for the next pace

	exiting bool            // exitCode is due once every generation is gone
	unheld  map[string]bool // addresses the app listened on that crinit does not hold, warned of
	notes   chan<- note     // where readNotes sends
	panics  chan<- workerPanic
	quit    chan struct{}  // closed when the loop ends
	readers sync.WaitGroup // the notify pipes' readers

	mem memState

	counters
	status atomic.Pointer[Status]
}

// backoffWait is the wait before the next start.
type backoffWait struct {
	until time.Time
	code  int // crinit's exit status if a shutdown comes first
}

// inputs are the loop's event sources besides its own timers.
type inputs struct {
	sigs    <-chan os.Signal
	samples <-chan sampler.Sample
	probes  <-chan probe.Result
	panics  chan workerPanic
	notes   chan note
	events  <-chan cgroup.Events // the cgroup's memory event counters, as they change
}

// New returns a supervisor for cfg. log is crinit's root logger: the
// supervisor's owners log under its names supervisor, reaper, sampler and
// probe. It fails when cfg does not validate.
func New(cfg Config, log hclog.Logger) (*Supervisor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("supervisor config: %w", err)
	}
	self := os.Getpid()
	if err := ownProc(cfg.ProcRoot, self); err != nil {
		return nil, err
	}
	return newSupervisor(cfg, log, newOSHost(self, cfg.ProcRoot, cfg.Cgroup), self), nil
}

// ownProc refuses a procfs of another PID namespace: there every PID names
// another process, and crinit would sample, signal and raise the
// oom_score_adj of processes not its own, the whole host's when it is PID 1.
// A root without a self entry (a fixture) is not checked.
func ownProc(root string, self int) error {
	seen, err := procfs.NewFS(root).Self()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("check /proc: %w", err)
	case seen != self:
		return fmt.Errorf("/proc belongs to another PID namespace: its self is PID %d, crinit is PID %d; "+
			"mount this namespace's proc (unshare --mount-proc; Docker and Kubernetes do)", seen, self)
	}
	return nil
}

func newSupervisor(cfg Config, log hclog.Logger, h host, self int) *Supervisor {
	return &Supervisor{
		cfg:      cfg,
		log:      log.Named("supervisor"),
		reapLog:  log.Named("reaper"),
		probeLog: log.Named("probe"),
		root:     log,
		host:     h,
		self:     self,
		restarts: NewRestarts(cfg.Restart),
		counters: newCounters(),
	}
}

// Run starts the child and supervises it, restarting it as the policy
// says, until crinit should exit; it returns crinit's exit code.
func (s *Supervisor) Run() int {
	// Never unlocked: the child's Pdeathsig fires when this thread ends, so
	// the thread must live as long as the supervisor does.
	runtime.LockOSThread()

	// Signals are caught before the child exists, so that no SIGCHLD is
	// missed, and the thread reserve is ready before it can fill the cgroup.
	st := s.cfg.Startup
	if st == nil {
		st = BeginStartup()
	}
	sigs := st.wait()

	if s.self != 1 {
		// Orphans of the child's tree are reparented to us, not to the
		// real init, so that we can reap them and kill remnants.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			s.log.Warn("cannot become child subreaper", "error", err)
		} else {
			s.log.Debug("child subreaper enabled", "pid", s.self)
		}
	}

	// The sampler and the prober only send events; they end with Run.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	panics := make(chan workerPanic, 2)
	in := inputs{sigs: sigs, panics: panics, notes: make(chan note)}
	s.startSampler(ctx, &wg, &in)
	if w := s.watchMemory(&wg, &in); w != nil {
		defer w.Close() // before cancel and wg.Wait: it ends the watcher
	}
	if s.cfg.Notify {
		ns, err := listenNotify()
		if err != nil {
			s.log.Warn("notify socket not open", "error", err)
		} else {
			defer ns.conn.Close()
			s.cfg.Env = append(s.cfg.Env, "NOTIFY_SOCKET="+ns.name)
			worker(&wg, "notify socket", panics, func() { ns.read(in.notes, ctx.Done()) })
		}
	}
	if s.cfg.Probe != nil {
		probes := make(chan probe.Result)
		in.probes = probes
		s.probeIvl = make(chan time.Duration, 1)
		worker(&wg, "prober", panics, func() { s.cfg.Probe.Run(ctx, s.cfg.ProbeInterval, s.probeIvl, probes) })
	}
	return s.run(in)
}

// run starts the first child and runs the loop until crinit should exit.
func (s *Supervisor) run(in inputs) int {
	if s.cfg.Probe != nil {
		s.probeSt.Target = s.cfg.Probe.Target().String()
		s.probeAt = s.cfg.ProbeInterval
	}
	s.notes, s.panics, s.quit, s.unheld = in.notes, in.panics, make(chan struct{}), map[string]bool{}
	s.initMem()
	s.safely("start", s.start)
	s.safely("publish", s.publish)
	s.loop(in)
	s.safely("publish", s.publish)
	close(s.quit)
	for _, g := range s.gens {
		if g.notes != nil {
			_ = g.notes.Close()
		}
	}
	s.readers.Wait()
	s.log.Info("shutdown", "exit_code", s.exitCode, "orphans_reaped", s.orphans, "starts", s.starts)
	return s.exitCode
}

// loop is the one place where decisions are taken: every event reaches it
// through a channel or its one timer, and each is handled under recover.
func (s *Supervisor) loop(in inputs) {
	// Each sample drains wait4 too: one wake-up a second, not two.
	var reapTicks <-chan time.Time
	if in.samples == nil {
		tick := time.NewTicker(reapTick)
		defer tick.Stop()
		reapTicks = tick.C
	}
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	for !s.done {
		s.rearm(wake)
		select {
		case sig := <-in.sigs:
			s.safely("signal", func() { s.onSignal(sig.(syscall.Signal)) })
		case <-reapTicks:
			s.safely("reap tick", s.onReap)
		case smp := <-in.samples:
			s.safely("reap tick", func() { s.reap() }) // the sample is news to publish anyway
			s.safely("sample", func() { s.onSample(smp); s.paceSampling(smp.At) })
		case ev := <-in.events:
			s.safely("memory events", func() { s.onEvents(ev) })
		case r := <-in.probes:
			s.safely("probe", func() { s.onProbe(r) })
		case n := <-in.notes:
			s.safely("notify", func() { s.onNote(n) })
		case p := <-in.panics:
			s.log.Error("worker stopped", "worker", p.worker, "panic", fmt.Sprint(p.value), "stack", string(p.stack))
		case <-wake.C:
			s.safely("timer", s.onTimers)
		}
		s.settle()
	}
}

// rearm sets the loop's one timer to the earliest deadline of the
// supervisor and its generations.
func (s *Supervisor) rearm(wake *time.Timer) {
	var at time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if s.backoff != nil {
		earliest(s.backoff.until)
	}
	if s.stale {
		earliest(s.published.Add(orphanPublish))
	}
	for _, g := range s.gens {
		earliest(g.wakeAt())
	}
	if at.IsZero() {
		wake.Stop()
		return
	}
	wake.Reset(time.Until(at))
}

// onTimers acts on every deadline that has passed.
func (s *Supervisor) onTimers() {
	now := time.Now()
	for _, g := range append([]*generation(nil), s.gens...) {
		switch {
		case g.phase == PhaseStarting && !g.deadline.IsZero() && !now.Before(g.deadline):
			s.notReady(g)
		case g.phase == PhaseDraining && !now.Before(g.deadline):
			s.endDrain(g)
		case g.phase == PhaseStopping && !g.deadline.IsZero() && !now.Before(g.deadline):
			s.killAfterTimeout(g)
		case g.phase == PhaseCleaning:
			s.cleanTimers(g, now)
		}
	}
	if s.backoff != nil && !now.Before(s.backoff.until) {
		s.start()
	}
}

// settle runs after every event. An orphan storm is thousands of SIGCHLDs
// that change nothing but a counter: those are published at most every
// orphanPublish, not per signal; the loop's timer publishes the last.
func (s *Supervisor) settle() {
	if s.unchanged {
		s.unchanged = false
		return
	}
	if s.orphansOnly && time.Since(s.published) < orphanPublish {
		s.orphansOnly, s.stale = false, true
		return
	}
	s.orphansOnly = false
	s.safely("publish", s.publish)
}

// safely runs one event's handler and turns a panic into a log line, so
// that a bug in crinit never takes the container down with it. A handler
// that panicked halfway through a child's exit leaves a generation reaped
// but not ended, or no generation at all: then supervision ends with the
// child's status rather than wait forever for a child that is gone.
func (s *Supervisor) safely(event string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			s.logPanic(event, r)
			s.salvage()
		}
	}()
	f()
}

// logPanic logs a panic recovered while handling event.
func (s *Supervisor) logPanic(event string, r any) {
	s.log.Error("panic recovered", "event", event, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

// salvage ends supervision when a panic left no way forward.
func (s *Supervisor) salvage() {
	if s.done {
		return
	}
	for _, g := range s.gens {
		if g.end != nil && g.alive() {
			s.log.Error("child exit not handled, exiting", "pid", g.pid, "exit_code", g.end.code)
			s.finish(g.end.code)
			return
		}
	}
	if len(s.gens) == 0 && s.backoff == nil {
		code := 1
		if g := s.current; g != nil && g.end != nil {
			code = g.end.code
		}
		s.log.Error("child exit not handled, exiting", "exit_code", code)
		s.finish(code)
	}
}

// finish ends supervision with code as crinit's exit status.
func (s *Supervisor) finish(code int) {
	s.done, s.exitCode, s.backoff = true, code, nil
}

// move changes g's phase through the lifecycle; a move it does not allow
// is a bug, logged, and changes nothing.
func (s *Supervisor) move(g *generation, to Phase, deadline time.Time) bool {
	if err := g.enter(to, deadline); err != nil {
		s.log.Error("invalid transition", "error", err)
		return false
	}
	return true
}

// generation returns the generation whose child is pid and not yet reaped.
func (s *Supervisor) generation(pid int) *generation {
	for _, g := range s.gens {
		if g.pid == pid && g.alive() {
			return g
		}
	}
	return nil
}

// live returns the current generation when its process runs, else nil.
func (s *Supervisor) live() *generation {
	if g := s.current; g != nil && g.alive() {
		return g
	}
	return nil
}
