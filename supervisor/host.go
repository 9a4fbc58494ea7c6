package supervisor

import (
	"syscall"

	"github.com/crinit/crinit/cgroup"
)

// host is every side effect the loop has on the system: processes,
// signals, /proc and the cgroup. The loop is its only caller. osHost is the
// real one; the tests use a fake, so that the whole lifecycle runs in-process.
type host interface {
	// start forks and execs argv with env in a process group of its own;
	// foreground says it took the terminal's foreground.
	start(argv, env []string) (pid int, foreground bool, err error)
	// signal sends sig to pid, or to the process group -pid; a process
	// already gone is not an error.
	signal(pid int, sig syscall.Signal) error
	// descendants lists crinit's living descendants, parents first.
	descendants() ([]proc, error)
	// reap collects every exited child of crinit that is waiting.
	reap() []exit
	// memory reads crinit's memory cgroup; false when there is none.
	memory() (cgroup.Memory, bool)
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

// proc is one process of crinit's tree.
type proc struct {
	PID, PPID int
	Command   string
}

// exit is one reaped process.
type exit struct {
	pid    int
	status syscall.WaitStatus
}
