package supervisor

import (
	"errors"
	"io/fs"
	"os/exec"
	"syscall"
)

// Exit codes crinit uses for itself, following the shell's conventions.
// They are the only ones crinit makes up: every other status is the
// child's, passed on.
const (
	ExitUsage         = 2   // a bad flag, variable or limit: no child was started
	ExitNotExecutable = 126 // COMMAND exists but cannot be executed
	ExitNotFound      = 127 // COMMAND was not found
	// ExitBudget replaces a last child's 0 when the restart budget ran
	// out: the orchestrator must see a failure.
	ExitBudget     = 1
	exitSignalBase = 128 // a child killed by signal N gives 128+N
)

// ExitCode turns a wait status into the exit code crinit passes on: the
// child's own code, or 128+N when signal N killed it.
func ExitCode(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return exitSignalBase + int(ws.Signal())
	}
	return 1
}

// budgetExitCode is crinit's status when the budget is spent: the child's,
// but never 0.
func budgetExitCode(code int) int {
	if code == 0 {
		return ExitBudget
	}
	return code
}

// transientStartError reports whether a failed fork or exec may succeed
// if tried again: no process slot or memory for a moment, the executable
// being written, an interrupted call.
func transientStartError(err error) bool {
	for _, e := range []error{syscall.EAGAIN, syscall.ENOMEM, syscall.ETXTBSY, syscall.EINTR, syscall.EMFILE, syscall.ENFILE} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// startErrorCode maps a failure to look up or exec COMMAND to 127 (not
// found) or 126 (found, but not executable).
func startErrorCode(err error) int {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return ExitNotFound
	}
	return ExitNotExecutable
}

// Reason says why a child's life ended. Every exit gets exactly one.
type Reason string

// The reasons a child ends.
const (
	ReasonExit      Reason = "exit"       // it exited by itself
	ReasonSignal    Reason = "signal"     // a signal crinit did not send killed it
	ReasonOOMKill   Reason = "oom_kill"   // the kernel's OOM killer: SIGKILL and the cgroup's oom_kill rose
	ReasonHeapLimit Reason = "heap_limit" // node aborted (SIGABRT or exit 134), as when V8 reaches its heap limit
	ReasonRSSLimit  Reason = "rss_limit"  // crinit stopped it: the tree's RSS stayed over --rss-limit
	ReasonFDLimit   Reason = "fd_limit"   // crinit stopped it: a process neared its RLIMIT_NOFILE
	ReasonReload    Reason = "reload"     // crinit restarted it on --reload-signal
	ReasonProbe     Reason = "probe"      // crinit restarted it: the liveness probe failed
	ReasonShutdown  Reason = "shutdown"   // crinit is shutting down on SIGTERM, SIGINT or SIGQUIT
	ReasonNotReady  Reason = "not_ready"  // crinit stopped it: not ready within --ready-timeout
	// crinit restarted it: the cgroup's tasks stalled on memory past --memory-pressure-limit
	ReasonMemoryPressure Reason = "memory_pressure"
	ReasonResize         Reason = "resize" // crinit restarted it: its heap may reach past a lowered cgroup limit
)

// Reasons lists every Reason, in the order /status and /metrics show
// them; a new reason added here gets its metrics.
func Reasons() []Reason {
	return []Reason{ReasonExit, ReasonSignal, ReasonOOMKill, ReasonHeapLimit,
		ReasonRSSLimit, ReasonFDLimit, ReasonMemoryPressure, ReasonResize, ReasonReload, ReasonProbe, ReasonNotReady, ReasonShutdown}
}

// Restarts reports whether a child ended for r may be restarted: every
// reason but a shutdown.
func (r Reason) Restarts() bool { return r != ReasonShutdown }

// planned reports whether crinit itself ends a child for r to restart it:
// with held sockets such a restart takes no backoff delay.
func (r Reason) planned() bool {
	switch r {
	case ReasonRSSLimit, ReasonFDLimit, ReasonProbe, ReasonMemoryPressure, ReasonResize:
		return true
	}
	return false
}

// exitSIGABRT is how a shell reports a child that died of SIGABRT.
const exitSIGABRT = exitSignalBase + int(syscall.SIGABRT)

// classify names the reason a child ended. stopped is the reason crinit
// itself was stopping it for ("" when it was not); oomKilled says the
// cgroup's oom_kill counter rose during its life; sentKill says crinit sent
// SIGKILL itself. A SIGKILL crinit did not send while the counter rose is
// the OOM killer's, even in the middle of a stop: an allocation that blocks
// the event loop fails the probe just before the kernel strikes.
func classify(ws syscall.WaitStatus, stopped Reason, oomKilled, sentKill bool) Reason {
	switch {
	case ws.Signaled() && ws.Signal() == syscall.SIGKILL && oomKilled && !sentKill:
		return ReasonOOMKill
	case stopped != "":
		return stopped
	case ExitCode(ws) == exitSIGABRT:
		return ReasonHeapLimit
	case ws.Signaled():
		return ReasonSignal
	}
	return ReasonExit
}
