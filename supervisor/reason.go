package supervisor

import "syscall"

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
)

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
