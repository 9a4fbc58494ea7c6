package supervisor

import (
	"io"
	"os"
	"syscall"

	"github.com/crinit/crinit/cgroup"
)

// host is every side effect the loop has on the system: processes,
// signals, /proc and the cgroup. The loop is its only caller. osHost is the
// real one; the tests use a fake, so that the whole lifecycle runs in-process.
type host interface {
	// start forks and execs a child in a process group of its own.
	start(spec startSpec) (started, error)
	// signal sends sig to pid, or to the process group -pid; a process
	// already gone is not an error.
	signal(pid int, sig syscall.Signal) error
	// descendants lists crinit's living descendants, parents first.
	descendants() ([]proc, error)
	// fates walks crinit's tree once: every descendant, zombies included,
	// and whether it is on its way out (a zombie, in exit, or with SIGKILL
	// pending); the command only of those that are.
	fates() ([]fated, error)
	// reap collects every exited child of crinit that is waiting.
	reap() []exit
	// memory reads crinit's memory cgroup; false when there is none.
	memory() (cgroup.Memory, bool)
	// oomKills reads the cgroup's OOM kill counter alone; false when there
	// is no cgroup or the counter cannot be read.
	oomKills() (uint64, bool)
	// setOOMScore writes pid's oom_score_adj.
	setOOMScore(pid, adj int) error
	// raiseOOMScore raises pid's oom_score_adj to adj when it is lower,
	// and says from what.
	raiseOOMScore(pid, adj int) (from int, raised bool)
	// command is pid's command line, "" when it is gone.
	command(pid int) string
	// takesHeapSnapshot reports whether pid is node set up to write a
	// heap snapshot on SIGUSR2 (without that, SIGUSR2 kills node).
	takesHeapSnapshot(pid int) bool
	// reclaimTerminal puts crinit's process group back in the terminal's
	// foreground.
	reclaimTerminal() error
}

// startSpec is how to start a child.
type startSpec struct {
	argv, env []string
	// files become the child's descriptors 3, 4, …
	files []*os.File
	// shim, when set, runs first: shim[0] with shim[1:], COMMAND's
	// resolved path and argv; it sets LISTEN_PID and execs COMMAND.
	shim []string
	// notify gives the child a pipe for readiness messages, its write end
	// after files, announced in CRINIT_NOTIFY_FD.
	notify bool
}

// started is a child just forked.
type started struct {
	pid        int
	foreground bool          // it took the terminal's foreground
	notes      io.ReadCloser // the notify pipe's read end; nil without one
}

// proc is one process of crinit's tree.
type proc struct {
	PID, PPID int
	Command   string
}

// fated is a descendant and how far it is on its way out.
type fated struct {
	proc
	dying  bool // a zombie, in exit, or with SIGKILL pending
	zombie bool // exited, its parent has not reaped it yet
}

// exit is one reaped process.
type exit struct {
	pid    int
	status syscall.WaitStatus
}
