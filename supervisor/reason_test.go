package supervisor

import (
	"syscall"
	"testing"
)

// The wait statuses are built by hand with exited, signaled and dumped from
// exitcode_test.go.

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		ws        syscall.WaitStatus
		stopped   Reason
		oomKilled bool
		sentKill  bool
		want      Reason
	}{
		// crinit's own reason for stopping the child wins over anything the
		// status or the cgroup says.
		{"stopped rss_limit, killed", signaled(syscall.SIGKILL), ReasonRSSLimit, false, false, ReasonRSSLimit},
		{"stopped rss_limit, the OOM killer struck first", signaled(syscall.SIGKILL), ReasonRSSLimit, true, false, ReasonOOMKill},
		{"stopped rss_limit, crinit's SIGKILL while the oom counter rose", signaled(syscall.SIGKILL), ReasonRSSLimit, true, true, ReasonRSSLimit},
		{"stopped probe, the OOM killer struck first", signaled(syscall.SIGKILL), ReasonProbe, true, false, ReasonOOMKill},
		{"stopped rss_limit, exited 0 on SIGTERM", exited(0), ReasonRSSLimit, false, false, ReasonRSSLimit},
		{"stopped fd_limit, SIGTERM", signaled(syscall.SIGTERM), ReasonFDLimit, false, false, ReasonFDLimit},
		{"stopped reload, exit 0", exited(0), ReasonReload, false, false, ReasonReload},
		{"stopped probe, aborted", dumped(syscall.SIGABRT), ReasonProbe, false, false, ReasonProbe},
		{"stopped shutdown, exit 134", exited(134), ReasonShutdown, false, false, ReasonShutdown},

		{"SIGKILL and oom_kill rose", signaled(syscall.SIGKILL), "", true, false, ReasonOOMKill},
		{"SIGKILL alone", signaled(syscall.SIGKILL), "", false, false, ReasonSignal},
		{"SIGTERM while oom_kill rose", signaled(syscall.SIGTERM), "", true, false, ReasonSignal},
		{"exit 1 while oom_kill rose", exited(1), "", true, false, ReasonExit}, // the OOM killer took a grandchild

		{"SIGABRT", signaled(syscall.SIGABRT), "", false, false, ReasonHeapLimit},
		{"SIGABRT with core", dumped(syscall.SIGABRT), "", false, false, ReasonHeapLimit},
		{"exit 134", exited(134), "", false, false, ReasonHeapLimit}, // a shell between crinit and node
		{"SIGABRT while oom_kill rose", signaled(syscall.SIGABRT), "", true, false, ReasonHeapLimit},

		{"exit 0", exited(0), "", false, false, ReasonExit},
		{"exit 3", exited(3), "", false, false, ReasonExit},
		{"exit 133", exited(133), "", false, false, ReasonExit},
		{"exit 135", exited(135), "", false, false, ReasonExit},
		{"exit 255", exited(255), "", false, false, ReasonExit},
		{"SIGTERM", signaled(syscall.SIGTERM), "", false, false, ReasonSignal},
		{"SIGINT", signaled(syscall.SIGINT), "", false, false, ReasonSignal},
		{"SIGSEGV with core", dumped(syscall.SIGSEGV), "", false, false, ReasonSignal},
		{"SIGBUS", signaled(syscall.SIGBUS), "", false, false, ReasonSignal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.ws, tt.stopped, tt.oomKilled, tt.sentKill); got != tt.want {
				t.Errorf("classify(%#x, %q, %v, %v) = %q, want %q", uint32(tt.ws), tt.stopped, tt.oomKilled, tt.sentKill, got, tt.want)
			}
		})
	}
}
