package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
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
)

// Supervisor runs one child as PID 1 would. Build it with New; Run it once.
type Supervisor struct {
	cfg  Config
	log  hclog.Logger
	ctx  context.Context // carries the procfs root for tree walks
	self int32
	sigs chan os.Signal

	child   *child
	orphans int // exits of processes other than the child, reaped by us
}

// child is the supervised process and, once reaped, how it ended.
type child struct {
	pid     int
	started time.Time
	ended   time.Time
	status  syscall.WaitStatus
	exited  bool
}

// New returns a supervisor for cfg that logs to log.
func New(cfg Config, log hclog.Logger) *Supervisor {
	return &Supervisor{
		cfg:  cfg,
		log:  log,
		ctx:  procContext(cfg.ProcRoot),
		self: int32(os.Getpid()),
	}
}

// Run starts the child, supervises it until it exits, kills what it left
// behind and returns the exit code crinit should exit with.
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

	if code, err := s.start(); err != nil {
		s.log.Error("child not started", "argv", s.cfg.Argv, "exit_code", code, "error", err)
		return code
	}
	s.supervise()
	s.cleanRemnants()
	code := ExitCode(s.child.status)
	s.log.Info("shutdown", "exit_code", code, "orphans_reaped", s.orphans)
	return code
}

// start looks COMMAND up and starts it in its own process group, in the
// terminal's foreground when crinit has one.
func (s *Supervisor) start() (int, error) {
	path, err := exec.LookPath(s.cfg.Argv[0])
	if err != nil {
		return startErrorCode(err), fmt.Errorf("look up %q: %w", s.cfg.Argv[0], err)
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
	pid, err := syscall.ForkExec(path, s.cfg.Argv, attr)
	if err != nil {
		return startErrorCode(err), fmt.Errorf("exec %q: %w", path, err)
	}
	s.child = &child{pid: pid, started: time.Now()}
	s.log.Info("child started", "pid", pid, "argv", s.cfg.Argv, "path", path, "foreground", attr.Sys.Foreground)
	return 0, nil
}

// foregroundTTY reports whether stdin is crinit's controlling terminal, so
// that the child's process group can take the foreground.
func foregroundTTY() bool {
	_, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil
}

// supervise forwards signals and reaps until the child has exited.
func (s *Supervisor) supervise() {
	tick := time.NewTicker(reapTick)
	defer tick.Stop()
	var stop *time.Timer
	var stopC <-chan time.Time
	defer func() {
		if stop != nil {
			stop.Stop()
		}
	}()

	for !s.child.exited {
		select {
		case sig := <-s.sigs:
			s.safely("signal", func() {
				sn := sig.(syscall.Signal)
				if sn == syscall.SIGCHLD {
					s.reap()
					return
				}
				s.forward(sn)
				if isShutdown(sn) && stop == nil {
					s.log.Info("shutdown requested", "signal", signalName(sn), "stop_timeout_ms", s.cfg.StopTimeout.Milliseconds())
					stop = time.NewTimer(s.cfg.StopTimeout)
					stopC = stop.C
				}
			})
		case <-tick.C:
			s.safely("reap tick", s.reap)
		case <-stopC:
			stopC = nil
			s.safely("stop timeout", func() {
				s.log.Warn("stop timeout, killing child", "pid", s.child.pid, "stop_timeout_ms", s.cfg.StopTimeout.Milliseconds())
				s.killTree(syscall.SIGKILL)
			})
		}
	}
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

// reap collects every exited process until none is left waiting. One
// SIGCHLD can stand for many exits, so it always drains.
func (s *Supervisor) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 { // ECHILD: no children; 0: none exited
			return
		}
		if s.child != nil && pid == s.child.pid && !s.child.exited {
			s.childExited(ws)
			continue
		}
		s.orphans++
		s.log.Debug("orphan reaped", "pid", pid, "exit_code", ExitCode(ws))
	}
}

func (s *Supervisor) childExited(ws syscall.WaitStatus) {
	c := s.child
	c.exited, c.status, c.ended = true, ws, time.Now()
	args := []any{"pid", c.pid, "exit_code", ExitCode(ws), "uptime_ms", c.ended.Sub(c.started).Milliseconds()}
	if ws.Signaled() {
		args = append(args, "signal", signalName(ws.Signal()), "core_dumped", ws.CoreDump())
	}
	s.log.Info("child exited", args...)
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

// awaitNoDescendants reaps until no descendant is left or d has passed.
func (s *Supervisor) awaitNoDescendants(d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	poll := time.NewTicker(remnantPoll)
	defer poll.Stop()
	for {
		select {
		case sig := <-s.sigs:
			if sig != syscall.SIGCHLD {
				s.log.Debug("signal ignored during cleanup", "signal", sig.String())
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
