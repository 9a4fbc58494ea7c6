package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/probe"
)

const (
	// sigBuffer holds signals that arrive while the loop is busy; Go drops
	// what does not fit. runc uses the same size.
	sigBuffer = 2048
	// reapTick drains wait4 even when a SIGCHLD was coalesced or lost, as
	// tini does.
	reapTick = time.Second
	// remnantPoll is how often the tree is rescanned while remnants die.
	remnantPoll = 50 * time.Millisecond
	// killWait bounds the wait for SIGKILLed processes to be reaped; a
	// process stuck in uninterruptible sleep must not hold crinit forever.
	killWait = time.Second
	// topProcesses is how many of the largest processes a memory event lists.
	topProcesses = 5
	// orphanPublish bounds how stale the published orphan count may be.
	orphanPublish = 100 * time.Millisecond
)

// State is where the child's lifecycle stands.
type State string

// The supervisor's states.
const (
	StateStarting State = "starting"
	StateRunning  State = "running"
	StateStopping State = "stopping" // SIGTERM sent, waiting for the exit
	StateBackoff  State = "backoff"  // waiting to restart
	StateDone     State = "done"
)

// Supervisor runs one child as PID 1 would. Build it with New; Run it once.
// All its fields belong to the goroutine that calls Run.
type Supervisor struct {
	cfg      Config
	log      hclog.Logger
	ctx      context.Context // carries the procfs root for tree walks
	self     int32
	sigs     chan os.Signal
	samples  chan sample
	restarts *Restarts

	probes   chan probe.Result
	probeIvl chan time.Duration // to the prober: its interval from now on
	probeAt  time.Duration      // the interval last asked for

	state    State
	child    *child         // the current child, or the last one
	starts   int            // children started
	orphans  int64          // exits of processes other than the child, reaped by us
	shutdown bool           // SIGTERM, SIGINT or SIGQUIT arrived: never restart
	draining syscall.Signal // the shutdown signal held back during --drain-delay
	exitCode int

	sampleWarned time.Time        // when a failed sample was last logged
	published    time.Time        // when publish last ran
	orphansOnly  bool             // the last event only reaped orphans
	exits        map[Reason]int64 // children ended, by reason
	restartsBy   map[Reason]int64 // restarts, by the reason the child before ended
	lastExit     *ExitStatus
	tree         *TreeStatus
	cgroup       *cgroup.Memory
	probeSt      ProbeStatus // counters across children; State and Failures per child
	status       atomic.Pointer[Status]

	stopTimer, backoffTimer, drainTimer *time.Timer
	stopC, backoffC, drainC             <-chan time.Time
}

// child is one supervised process and, once reaped, how it ended.
type child struct {
	pid        int
	started    time.Time
	ended      time.Time
	status     syscall.WaitStatus
	exited     bool
	stopping   Reason // why crinit is stopping it; "" when it is not
	foreground bool   // it holds the terminal's foreground
	sentKill   bool   // crinit sent SIGKILL to its tree
	oomKills   uint64 // the cgroup's oom_kill count at start

	probe        *probe.Tracker
	mem          *memWatch
	fdWarned     map[int32]bool
	oomChecked   map[int32]bool // tree members whose oom_score_adj was checked
	snapshotSent bool
}

// New returns a supervisor for cfg that logs to log.
func New(cfg Config, log hclog.Logger) *Supervisor {
	return &Supervisor{
		cfg:      cfg,
		log:      log,
		ctx:      procContext(cfg.ProcRoot),
		self:     int32(os.Getpid()),
		restarts: NewRestarts(cfg.Restart),
		state:    StateStarting,
		exits:    map[Reason]int64{},

		restartsBy: map[Reason]int64{},
	}
}

// Status returns the last published snapshot; it is safe to call from any
// goroutine, and never nil once New has returned.
func (s *Supervisor) Status() *Status {
	if st := s.status.Load(); st != nil {
		return st
	}
	return &Status{State: StateStarting}
}

// publish makes the current state visible to Status.
func (s *Supervisor) publish() {
	st := &Status{
		State:            s.state,
		ShuttingDown:     s.shutdown,
		Draining:         s.draining != 0,
		Starts:           s.starts,
		RestartsInWindow: s.restarts.InWindow(time.Now()),
		LastExit:         s.lastExit,
		ExitsByReason:    make(map[Reason]int64, len(s.exits)),
		OrphansReaped:    s.orphans,
		Tree:             s.tree,
		Cgroup:           s.cgroup,
	}
	for r, n := range s.exits {
		st.ExitsByReason[r] = n
	}
	st.RestartsByReason = make(map[Reason]int64, len(s.restartsBy))
	for r, n := range s.restartsBy {
		st.RestartsByReason[r] = n
	}
	if c := s.child; c != nil && !c.exited {
		st.Child = &ChildStatus{PID: c.pid, Started: c.started}
		if s.cfg.ShowArgv {
			st.Child.Argv = s.cfg.Argv
		}
	}
	if s.cfg.Probe != nil {
		p := s.probeSt
		p.State = "starting"
		if c := s.child; c != nil && c.probe != nil && !c.exited {
			p.Failures = c.probe.Failures()
			switch {
			case c.probe.Healthy():
				p.State = "healthy"
			case !c.probe.Starting():
				p.State = "unhealthy"
			}
		}
		st.Probe = &p
	}
	s.status.Store(st)
	s.published = time.Now()
}

// Run starts the child and supervises it, restarting it as the policy
// says, until crinit should exit; it returns crinit's exit code.
func (s *Supervisor) Run() int {
	// Never unlocked: the child's Pdeathsig fires when this thread ends, so
	// the thread must live as long as the supervisor does.
	runtime.LockOSThread()

	// Catch signals before the child exists so that no SIGCHLD is missed.
	s.sigs = make(chan os.Signal, sigBuffer)
	signal.Notify(s.sigs, forwardable()...)
	defer signal.Stop(s.sigs)

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
	worker := func(run func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	if s.cfg.SampleInterval > 0 {
		s.samples = make(chan sample, 1)
		worker(func() { s.sampler(ctx, s.samples, s.cfg.SampleInterval) })
	}
	if s.cfg.Probe != nil {
		s.probes = make(chan probe.Result)
		s.probeIvl = make(chan time.Duration, 1)
		s.probeSt.Target = s.cfg.Probe.Target().String()
		s.probeAt = s.cfg.ProbeInterval
		worker(func() { s.cfg.Probe.Run(ctx, s.cfg.ProbeInterval, s.probeIvl, s.probes) })
	}

	s.safely("start", s.startChild)
	s.safely("publish", s.publish)
	s.loop()
	s.safely("publish", s.publish)
	s.log.Info("shutdown", "exit_code", s.exitCode, "orphans_reaped", s.orphans, "starts", s.starts)
	return s.exitCode
}

// loop is the one place where decisions are taken: every event reaches it
// through a channel, and each is handled under recover.
func (s *Supervisor) loop() {
	tick := time.NewTicker(reapTick)
	defer tick.Stop()
	defer s.disarm(&s.stopTimer, &s.stopC)
	defer s.disarm(&s.backoffTimer, &s.backoffC)
	defer s.disarm(&s.drainTimer, &s.drainC)
	for ; s.state != StateDone; s.settle() {
		select {
		case sig := <-s.sigs:
			s.safely("signal", func() { s.onSignal(sig.(syscall.Signal)) })
		case <-tick.C:
			s.safely("reap tick", func() { s.orphansOnly = !s.reap() })
		case smp := <-s.samples:
			s.safely("sample", func() { s.onSample(smp) })
		case r := <-s.probes:
			s.safely("probe", func() { s.onProbe(r) })
		case <-s.drainC:
			s.drainC = nil
			s.safely("drain end", s.endDrain)
		case <-s.stopC:
			s.stopC = nil
			s.safely("stop timeout", s.onStopTimeout)
		case <-s.backoffC:
			s.backoffC = nil
			s.safely("backoff end", s.startChild)
		}
	}
}

// settle runs after every event: it publishes the state, and if a handler
// panicked halfway through a child's exit, it ends supervision with the
// child's status rather than wait forever for a child that is gone.
func (s *Supervisor) settle() {
	if c := s.child; c != nil && c.exited && (s.state == StateRunning || s.state == StateStopping) {
		s.log.Error("child exit not handled, exiting", "pid", c.pid, "exit_code", ExitCode(c.status))
		s.finish(ExitCode(c.status))
	}
	// An orphan storm is thousands of SIGCHLDs that change nothing but a
	// counter: publish those at most every orphanPublish, not per signal.
	if s.orphansOnly && time.Since(s.published) < orphanPublish {
		s.orphansOnly = false
		return
	}
	s.orphansOnly = false
	s.safely("publish", s.publish)
}

// startChild looks COMMAND up and starts it in its own process group, in
// the terminal's foreground when crinit has one. A failure ends crinit
// with 127 or 126.
func (s *Supervisor) startChild() {
	pid, foreground, err := s.spawn()
	if err != nil {
		code := startErrorCode(err)
		if !transientStartError(err) || s.shutdown {
			s.log.Error("child not started", "argv", s.cfg.Argv, "exit_code", code, "error", err)
			s.finish(code)
			return
		}
		// Out of processes or memory for a moment (right after an OOM
		// kill, say): a failed start, retried within the budget.
		d := s.restarts.Decide(time.Now(), 0, ReasonExit, code)
		s.log.Error("child not started", "argv", s.cfg.Argv, "exit_code", code, "error", err,
			"restarts_in_window", d.InWindow, "next_delay_ms", d.Delay.Milliseconds(), "restart", d.Why)
		if !d.Restart {
			s.finish(code)
			return
		}
		s.backoff(max(d.Delay, time.Millisecond), code)
		return
	}
	s.starts++
	c := &child{
		pid:        pid,
		foreground: foreground,
		started:    time.Now(),
		mem:        newMemWatch(s.cfg.RSSLimit, s.cfg.RSSWarn, s.cfg.RSSGrace, s.cfg.TrendHorizon),
		probe:      probe.NewTracker(s.cfg.ProbePolicy, time.Now()),
		fdWarned:   map[int32]bool{},

		oomChecked: map[int32]bool{int32(pid): true},
	}
	s.child, s.state = c, StateRunning
	s.setOOMScoreAdj(pid)
	s.paceProbe()
	if s.cfg.Cgroup != nil {
		if m, err := s.cfg.Cgroup.Read(); err == nil {
			c.oomKills = m.OOMKills
		}
	}
	s.log.Info("child started", "pid", pid, "argv", s.cfg.Argv, "start", s.starts,
		"restarts_in_window", s.restarts.InWindow(c.started), "foreground", foreground)
}

// spawn forks and execs the child; foreground says it got the terminal.
func (s *Supervisor) spawn() (pid int, foreground bool, err error) {
	path, err := exec.LookPath(s.cfg.Argv[0])
	if err != nil {
		return 0, false, fmt.Errorf("look up %q: %w", s.cfg.Argv[0], err)
	}
	attr := &syscall.ProcAttr{
		Env:   s.cfg.Env,
		Files: []uintptr{0, 1, 2}, // crinit's own descriptors, untouched
		Sys: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if foregroundTTY() {
		attr.Sys.Foreground = true
		attr.Sys.Ctty = 0
	}
	pid, err = syscall.ForkExec(path, s.cfg.Argv, attr)
	if err != nil {
		return 0, false, fmt.Errorf("exec %q: %w", path, err)
	}
	return pid, attr.Sys.Foreground, nil
}

// setOOMScoreAdj makes the child, not crinit, the OOM killer's choice.
// Raising the score needs no privilege. It is written right after the
// fork; a process the child forks in the microseconds before inherits
// crinit's score, so every sample also raises the score of tree members it
// has not seen yet (raiseOOMScores).
func (s *Supervisor) setOOMScoreAdj(pid int) {
	path := filepath.Join(s.procRoot(), strconv.Itoa(pid), "oom_score_adj")
	if err := os.WriteFile(path, []byte(strconv.Itoa(s.cfg.OOMScoreAdj)), 0); err != nil {
		s.log.Warn("cannot set child's oom_score_adj", "pid", pid, "oom_score_adj", s.cfg.OOMScoreAdj, "error", err)
	}
}

// raiseOOMScores raises oom_score_adj to the child's for every process of
// the sample seen for the first time in this child's life.
func (s *Supervisor) raiseOOMScores(c *child, smp sample) {
	for _, p := range smp.Procs {
		if c.oomChecked[p.PID] {
			continue
		}
		c.oomChecked[p.PID] = true
		path := filepath.Join(s.procRoot(), strconv.Itoa(int(p.PID)), "oom_score_adj")
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone
		}
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n < s.cfg.OOMScoreAdj {
			if err := os.WriteFile(path, []byte(strconv.Itoa(s.cfg.OOMScoreAdj)), 0); err == nil {
				s.log.Debug("oom_score_adj raised", "pid", p.PID, "from", n, "to", s.cfg.OOMScoreAdj)
			}
		}
	}
}

// procRoot is the procfs mount crinit reads and writes.
func (s *Supervisor) procRoot() string {
	if s.cfg.ProcRoot != "" {
		return s.cfg.ProcRoot
	}
	return "/proc"
}

// foregroundTTY reports whether stdin is crinit's controlling terminal, so
// that the child's process group can take the foreground.
func foregroundTTY() bool {
	_, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil
}

// onSignal handles one signal: reaping, reload, shutdown, forwarding.
func (s *Supervisor) onSignal(sig syscall.Signal) {
	switch {
	case sig == syscall.SIGCHLD:
		s.orphansOnly = !s.reap()
	case sig == syscall.SIGPIPE:
		// Crinit's own: a write to a closed stdout. Forwarding it would
		// make the next log line fail again, in a loop.
	case sig == s.cfg.ReloadSignal:
		s.reload(sig)
	case s.state == StateBackoff:
		if isShutdown(sig) {
			s.log.Info("shutdown requested during backoff", "signal", signalName(sig), "exit_code", s.exitCode)
			s.shutdown = true
			s.finish(s.exitCode)
			return
		}
		s.log.Debug("signal dropped: no child", "signal", signalName(sig))
	case isShutdown(sig) && s.draining != 0:
		s.log.Info("drain cut short", "signal", signalName(sig))
		s.endDrain()
	case isShutdown(sig) && !s.shutdown:
		s.shutdown = true
		s.log.Info("shutdown requested", "signal", signalName(sig), "stop_timeout_ms", s.cfg.StopTimeout.Milliseconds(),
			"drain_delay_ms", s.cfg.DrainDelay.Milliseconds())
		if s.cfg.DrainDelay > 0 && s.state == StateRunning {
			// Not ready from now on; the child keeps serving meanwhile.
			s.draining = sig
			s.arm(&s.drainTimer, &s.drainC, s.cfg.DrainDelay)
			return
		}
		s.beginShutdown(sig)
	default:
		s.forward(sig)
	}
}

// reload restarts the child on the reload signal, which is never
// forwarded: at once during a backoff wait, through the stop sequence when
// it runs, not at all while it is already stopping.
func (s *Supervisor) reload(sig syscall.Signal) {
	switch s.state {
	case StateRunning:
		s.log.Info("reload requested", "signal", signalName(sig), "pid", s.child.pid)
		s.stopChild(ReasonReload, s.cfg.KillTimeout)
	case StateBackoff:
		s.log.Info("reload requested during backoff", "signal", signalName(sig))
		s.disarm(&s.backoffTimer, &s.backoffC)
		s.startChild()
	default:
		s.log.Info("reload ignored: child stopping", "signal", signalName(sig))
	}
}

// endDrain forwards the shutdown signal held back during the drain.
func (s *Supervisor) endDrain() {
	sig := s.draining
	s.draining = 0
	s.disarm(&s.drainTimer, &s.drainC)
	if sig != 0 && s.state != StateDone && s.state != StateBackoff {
		s.beginShutdown(sig)
	}
}

// beginShutdown forwards sig and gives the child StopTimeout to exit.
func (s *Supervisor) beginShutdown(sig syscall.Signal) {
	s.forward(sig)
	if s.child.exited || s.state == StateStopping {
		return // a stop under way keeps its reason and its SIGKILL deadline
	}
	s.child.stopping, s.state = ReasonShutdown, StateStopping
	s.arm(&s.stopTimer, &s.stopC, s.cfg.StopTimeout)
}

// forward passes sig on to the child or its process group.
func (s *Supervisor) forward(sig syscall.Signal) {
	target, to := -s.child.pid, ForwardGroup
	if s.cfg.ForwardTo == ForwardChild {
		target, to = s.child.pid, ForwardChild
	}
	if err := unix.Kill(target, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		s.log.Warn("signal not forwarded", "signal", signalName(sig), "to", to, "pid", s.child.pid, "error", err)
		return
	}
	s.log.Info("signal forwarded", "signal", signalName(sig), "signo", int(sig), "to", to, "pid", s.child.pid)
}

// stopChild asks the child's group to stop with SIGTERM, for reason, and
// arms the SIGKILL that follows after timeout.
func (s *Supervisor) stopChild(reason Reason, timeout time.Duration) {
	if s.state != StateRunning {
		return
	}
	s.child.stopping, s.state = reason, StateStopping
	s.log.Info("stopping child", "pid", s.child.pid, "reason", reason, "kill_timeout_ms", timeout.Milliseconds())
	if err := unix.Kill(-s.child.pid, syscall.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		s.log.Warn("cannot signal process group", "pgid", s.child.pid, "signal", "SIGTERM", "error", err)
	}
	s.arm(&s.stopTimer, &s.stopC, timeout)
}

func (s *Supervisor) onStopTimeout() {
	if s.state != StateStopping {
		return
	}
	timeout := s.cfg.KillTimeout
	if s.child.stopping == ReasonShutdown {
		timeout = s.cfg.StopTimeout
	}
	s.log.Warn("stop timeout, killing child", "pid", s.child.pid, "reason", s.child.stopping,
		"timeout_ms", timeout.Milliseconds())
	s.child.sentKill = true
	s.killTree(syscall.SIGKILL)
}

// reap collects every exited process until none is left waiting, and
// reports whether the main child was among them. One SIGCHLD can stand for
// many exits, so it always drains.
func (s *Supervisor) reap() (childExited bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 { // ECHILD: no children; 0: none exited
			return childExited
		}
		if s.child != nil && pid == s.child.pid && !s.child.exited {
			childExited = true
			s.childExited(ws)
			continue
		}
		s.orphans++
		if s.log.IsDebug() {
			s.log.Debug("orphan reaped", "pid", pid, "exit_code", ExitCode(ws))
		}
	}
}

// childExited ends a child's life: it names the reason, decides on a
// restart, clears away what the child left behind, and restarts it or ends
// crinit as decided.
func (s *Supervisor) childExited(ws syscall.WaitStatus) {
	c := s.child
	c.exited, c.status, c.ended = true, ws, time.Now()
	s.disarm(&s.stopTimer, &s.stopC)
	s.draining = 0
	s.disarm(&s.drainTimer, &s.drainC)
	code := ExitCode(ws)
	oomKilled := false
	if s.cfg.Cgroup != nil {
		if m, err := s.cfg.Cgroup.Read(); err == nil {
			oomKilled = m.OOMKills > c.oomKills
		}
	}
	reason := classify(ws, c.stopping, oomKilled, c.sentKill)
	s.exits[reason]++
	s.lastExit = &ExitStatus{PID: c.pid, At: c.ended, Code: code, Reason: reason, UptimeMS: c.ended.Sub(c.started).Milliseconds()}
	if ws.Signaled() {
		s.lastExit.Signal = signalName(ws.Signal())
	}
	if c.foreground {
		s.terminalBack(c, ws)
	}

	policyReason := reason
	if s.shutdown {
		policyReason = ReasonShutdown
	}
	uptime := c.ended.Sub(c.started)
	d := s.restarts.Decide(c.ended, uptime, policyReason, code)
	args := []any{"pid", c.pid, "exit_code", code, "uptime_ms", uptime.Milliseconds(),
		"reason", reason, "restarts_in_window", d.InWindow}
	if ws.Signaled() {
		args = append(args, "signal", signalName(ws.Signal()), "core_dumped", ws.CoreDump())
	}
	if d.Restart {
		args = append(args, "next_delay_ms", d.Delay.Milliseconds())
	} else {
		args = append(args, "restart", d.Why)
	}
	if reason == ReasonOOMKill {
		s.log.Error("child exited", args...)
	} else {
		s.log.Info("child exited", args...)
	}

	s.publish() // the child is gone: not live, not ready, while clean-up runs
	s.cleanRemnants()
	if s.cfg.HeapSnapshotDir != "" {
		s.pruneSnapshots()
	}
	switch {
	case d.Restart && s.shutdown: // the shutdown came during clean-up
		s.finish(code)
	case d.Restart:
		s.restartsBy[reason]++
		s.backoff(d.Delay, code)
	case d.Exhausted:
		var ages []int64
		for _, t := range s.restarts.History(c.ended) {
			ages = append(ages, c.ended.Sub(t).Milliseconds())
		}
		// The orchestrator must see a failure, even when the last child
		// exited 0 (on crinit's own SIGTERM, say).
		exit := code
		if exit == 0 {
			exit = 1
		}
		s.log.Error("restart budget exhausted", "restarts", d.InWindow, "restart_max", s.cfg.Restart.Max,
			"window_ms", s.cfg.Restart.Window.Milliseconds(), "restart_ages_ms", ages, "last_reason", reason,
			"child_exit_code", code, "exit_code", exit)
		s.finish(exit)
	default:
		s.finish(code)
	}
}

// backoff starts the next child after delay; code is crinit's exit status
// if a shutdown comes first.
func (s *Supervisor) backoff(delay time.Duration, code int) {
	s.exitCode = code
	if delay == 0 {
		s.startChild()
		return
	}
	s.state = StateBackoff
	s.arm(&s.backoffTimer, &s.backoffC, delay)
}

// terminalBack takes the terminal's foreground back from a child that
// held it, so that Ctrl-C during a backoff wait reaches crinit. A child
// that died of the terminal's SIGINT or SIGQUIT (or exited 130 or 131, as
// a shell does) was interrupted by the user at the terminal, who means to
// stop, not to restart.
func (s *Supervisor) terminalBack(c *child, ws syscall.WaitStatus) {
	code := ExitCode(ws)
	if code == exitSignalBase+int(syscall.SIGINT) || code == exitSignalBase+int(syscall.SIGQUIT) {
		if !s.shutdown {
			s.shutdown = true
			s.log.Info("shutdown requested", "signal", "terminal interrupt", "pid", c.pid)
		}
	}
	if err := reclaimTerminal(); err != nil {
		s.log.Debug("terminal not reclaimed", "error", err)
	}
}

// finish ends supervision with code as crinit's exit status.
func (s *Supervisor) finish(code int) {
	s.state, s.exitCode = StateDone, code
}

// onSample judges one reading of the tree against the memory and
// descriptor limits.
func (s *Supervisor) onSample(smp sample) {
	if smp.Err != nil && smp.At.Sub(s.sampleWarned) >= time.Minute {
		// The kill-switch is blind while sampling fails: say so, once a
		// minute.
		s.sampleWarned = smp.At
		s.log.Warn("sample incomplete", "error", smp.Err)
	}
	if smp.Cgroup != nil {
		s.cgroup = smp.Cgroup
	}
	c := s.child
	if c != nil && !c.exited && !smp.At.Before(c.started) {
		t := &TreeStatus{At: smp.At, Processes: len(smp.Procs), RSSBytes: smp.RSS}
		for _, p := range smp.Procs {
			t.FDs += max(p.FDs, 0)
			t.MaxFDs = max(t.MaxFDs, p.FDs)
		}
		s.tree = t
	}
	if s.state != StateRunning || c == nil || smp.At.Before(c.started) || len(smp.Procs) == 0 {
		return // no child, or a reading of an earlier one
	}
	s.raiseOOMScores(c, smp)
	s.checkMemory(c, smp)
	if s.state == StateRunning {
		s.checkFDs(c, smp)
	}
}

func (s *Supervisor) checkMemory(c *child, smp sample) {
	v := c.mem.observe(smp.At, smp.RSS)
	if v.WarnCrossed {
		s.log.Warn("rss warning", "measure", "tree_rss", "rss_bytes", smp.RSS, "rss_sum_bytes", smp.RSSSum, "warn_bytes", s.cfg.RSSWarn,
			"limit_bytes", s.cfg.RSSLimit, "top", smp.topRSS(s.ctx, topProcesses))
		if s.cfg.HeapSnapshotDir != "" && !c.snapshotSent {
			c.snapshotSent = true
			s.requestHeapSnapshot(smp)
		}
	}
	if v.Trend != nil {
		s.log.Warn("rss trending to limit", "rss_bytes", smp.RSS, "limit_bytes", s.cfg.RSSLimit,
			"slope_mib_per_min", v.Trend.BytesPerSec*60/float64(limits.MiB), "eta_s", int64(v.Trend.ToLimit.Seconds()))
	}
	if v.Exceeded {
		args := []any{"measure", "tree_rss", "rss_bytes", smp.RSS, "rss_sum_bytes", smp.RSSSum, "limit_bytes", s.cfg.RSSLimit,
			"samples_over", c.mem.over, "top", smp.topRSS(s.ctx, topProcesses)}
		if smp.Cgroup != nil {
			args = append(args, "cgroup_usage_bytes", smp.Cgroup.Usage, "cgroup_limit_bytes", smp.Cgroup.Limit)
		}
		s.log.Warn("rss limit exceeded", args...)
		s.stopChild(ReasonRSSLimit, s.cfg.KillTimeout)
	}
}

func (s *Supervisor) checkFDs(c *child, smp sample) {
	for _, p := range smp.Procs {
		if p.FDs < 0 || p.FDLimit == 0 {
			continue
		}
		fds := uint64(p.FDs)
		if !s.cfg.FDLimit.Off() && fds >= s.cfg.FDLimit.Of(p.FDLimit) {
			s.log.Warn("fd limit exceeded", "pid", p.PID, "command", commandOf(s.ctx, p.PID), "fds", fds,
				"limit", s.cfg.FDLimit.Of(p.FDLimit), "rlimit_nofile", p.FDLimit)
			s.stopChild(ReasonFDLimit, s.cfg.KillTimeout)
			return
		}
		if !s.cfg.FDWarn.Off() && fds >= s.cfg.FDWarn.Of(p.FDLimit) && !c.fdWarned[p.PID] {
			c.fdWarned[p.PID] = true
			s.log.Warn("fd warning", "pid", p.PID, "command", commandOf(s.ctx, p.PID), "fds", fds,
				"warn", s.cfg.FDWarn.Of(p.FDLimit), "rlimit_nofile", p.FDLimit)
		}
	}
}

// onProbe judges one liveness probe result; the retries-th consecutive
// failure after the start period restarts the child with reason probe.
func (s *Supervisor) onProbe(r probe.Result) {
	s.probeSt.Count++
	s.probeSt.DurationSum += r.Duration
	last := &ProbeLast{At: r.Start, OK: r.OK, Cause: r.Cause, HTTPStatus: r.Status,
		DurationMS: float64(r.Duration.Microseconds()) / 1000}
	if r.Err != nil {
		last.Error = r.Err.Error()
	}
	s.probeSt.Last = last
	if !r.OK {
		s.probeSt.FailuresTotal++
	}
	c := s.child
	if s.state != StateRunning || c == nil || r.Start.Before(c.started) {
		return // no child, or a probe of an earlier one
	}
	v := c.probe.Observe(r)
	defer s.paceProbe()
	switch {
	case r.OK && v.Recovered:
		s.log.Info("probe healthy", "target", s.probeSt.Target, "duration_ms", last.DurationMS, "http_status", r.Status)
	case !r.OK:
		// Inside the start period a failure is expected (the app is still
		// starting) and does not count: debug, not warn.
		level := hclog.Warn
		if !v.Counted {
			level = hclog.Debug
		}
		s.log.Log(level, "probe failed", "target", s.probeSt.Target, "cause", r.Cause, "http_status", r.Status,
			"error", last.Error, "duration_ms", last.DurationMS, "failures", v.Failures,
			"retries", s.cfg.ProbePolicy.Retries, "counted", v.Counted)
	}
	if v.Unhealthy {
		s.log.Warn("probe unhealthy, restarting child", "target", s.probeSt.Target, "failures", v.Failures)
		s.stopChild(ReasonProbe, s.cfg.KillTimeout)
	}
}

// paceProbe sets the prober's interval: ProbeStartInterval while the
// child is in its start period, ProbeInterval after.
func (s *Supervisor) paceProbe() {
	if s.probeIvl == nil || s.cfg.ProbeStartInterval <= 0 {
		return
	}
	want := s.cfg.ProbeInterval
	if c := s.child; c != nil && !c.exited && c.probe.Starting() {
		want = min(s.cfg.ProbeStartInterval, s.cfg.ProbeInterval)
	}
	if want == s.probeAt {
		return
	}
	s.probeAt = want
	// Only this goroutine sends, into a buffer of one: replace a value the
	// prober has not taken yet instead of blocking on it.
	select {
	case s.probeIvl <- want:
	default:
		select {
		case <-s.probeIvl:
		default:
		}
		s.probeIvl <- want
	}
}

// requestHeapSnapshot makes room in the snapshot directory and sends
// SIGUSR2 to every node process of the tree started to take it; node
// writes the snapshot.
func (s *Supervisor) requestHeapSnapshot(smp sample) {
	s.pruneSnapshotsTo(s.cfg.HeapSnapshotKeep - 1)
	for _, pid := range smp.snapshotPIDs(s.ctx) {
		if err := unix.Kill(int(pid), syscall.SIGUSR2); err != nil {
			s.log.Warn("heap snapshot not requested", "pid", pid, "error", err)
			continue
		}
		s.log.Info("heap snapshot requested", "pid", pid, "dir", s.cfg.HeapSnapshotDir)
	}
}

func (s *Supervisor) pruneSnapshots() { s.pruneSnapshotsTo(s.cfg.HeapSnapshotKeep) }

func (s *Supervisor) pruneSnapshotsTo(keep int) {
	removed, err := pruneSnapshots(s.cfg.HeapSnapshotDir, keep)
	if err != nil {
		s.log.Warn("heap snapshots not pruned", "dir", s.cfg.HeapSnapshotDir, "error", err)
	}
	for _, name := range removed {
		s.log.Info("heap snapshot removed", "file", name, "keep", s.cfg.HeapSnapshotKeep)
	}
}

// killTree sends sig to the child's process group and to every other
// descendant of crinit: after a setsid or a double fork a process leaves the
// group but stays in our tree.
func (s *Supervisor) killTree(sig syscall.Signal) []proc {
	// List first: once signalled, a process may be a zombie before we look.
	left, err := descendants(s.ctx, s.self)
	if err != nil {
		s.log.Warn("cannot list descendants", "error", err)
	}
	if err := unix.Kill(-s.child.pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		s.log.Warn("cannot signal process group", "pgid", s.child.pid, "signal", signalName(sig), "error", err)
	}
	for _, p := range left {
		if err := unix.Kill(int(p.PID), sig); err != nil && !errors.Is(err, unix.ESRCH) {
			s.log.Warn("cannot signal process", "pid", p.PID, "signal", signalName(sig), "error", err)
		}
	}
	return left
}

// cleanRemnants ends whatever outlived the child: SIGTERM, a grace of
// RemnantTimeout, then SIGKILL, logging each process it signals.
func (s *Supervisor) cleanRemnants() {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		left := s.killTree(sig)
		if len(left) == 0 {
			return
		}
		for _, p := range left {
			s.log.Info("remnant killed", "pid", p.PID, "command", p.Command, "signal", signalName(sig))
		}
		wait := s.cfg.RemnantTimeout
		if sig == syscall.SIGKILL {
			wait = killWait
		}
		if s.awaitNoDescendants(wait) {
			return
		}
	}
	s.log.Warn("remnants survived SIGKILL", "wait_ms", killWait.Milliseconds())
}

// awaitNoDescendants reaps until no descendant is left or d has passed. A
// shutdown signal meanwhile is remembered, so that no restart follows.
func (s *Supervisor) awaitNoDescendants(d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	poll := time.NewTicker(remnantPoll)
	defer poll.Stop()
	for {
		select {
		case sig := <-s.sigs:
			if sn := sig.(syscall.Signal); sn != syscall.SIGCHLD {
				if isShutdown(sn) && !s.shutdown {
					s.shutdown = true
					s.log.Info("shutdown requested", "signal", signalName(sn), "during", "remnant clean-up")
					s.reap()
					return false // no more grace: on to SIGKILL
				}
				continue
			}
		case <-poll.C:
		case <-deadline.C:
			s.reap()
			return false
		}
		s.reap()
		left, err := descendants(s.ctx, s.self)
		if err == nil && len(left) == 0 {
			return true
		}
	}
}

// arm (re)starts a timer whose channel the loop selects on.
func (s *Supervisor) arm(t **time.Timer, c *<-chan time.Time, d time.Duration) {
	s.disarm(t, c)
	*t = time.NewTimer(d)
	*c = (*t).C
}

// disarm stops a timer and its channel.
func (s *Supervisor) disarm(t **time.Timer, c *<-chan time.Time) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
	*c = nil
}

// safely runs one event's handler and turns a panic into a log line, so
// that a bug in crinit never takes the container down with it.
func (s *Supervisor) safely(event string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic recovered", "event", event, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	f()
}
