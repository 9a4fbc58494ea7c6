package supervisor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// Linux wait status layout (see wait(2) and glibc's bits/waitstatus.h): an
// exit code lives in bits 8-15 with the low byte 0; a terminating signal in
// bits 0-6, with 0x80 set when a core was dumped; a stop is 0x7f with the
// signal in bits 8-15.
func exited(code int) syscall.WaitStatus             { return syscall.WaitStatus(code << 8) }
func signaled(sig syscall.Signal) syscall.WaitStatus { return syscall.WaitStatus(sig) }
func dumped(sig syscall.Signal) syscall.WaitStatus   { return syscall.WaitStatus(sig) | 0x80 }

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		ws   syscall.WaitStatus
		want int
	}{
		{"exited 0", exited(0), 0},
		{"exited 1", exited(1), 1},
		{"exited 3", exited(3), 3},
		{"exited 126", exited(126), 126},
		{"exited 255", exited(255), 255},
		{"SIGKILL", signaled(syscall.SIGKILL), 137},
		{"SIGTERM", signaled(syscall.SIGTERM), 143},
		{"SIGINT", signaled(syscall.SIGINT), 130},
		{"SIGHUP", signaled(syscall.SIGHUP), 129},
		{"SIGRTMIN+6", signaled(40), 168},
		{"SIGSEGV with core", dumped(syscall.SIGSEGV), 139},
		{"SIGABRT with core", dumped(syscall.SIGABRT), 134},
		{"SIGQUIT with core", dumped(syscall.SIGQUIT), 131},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.ws); got != tt.want {
				t.Errorf("ExitCode(%#x) = %d, want %d", uint32(tt.ws), got, tt.want)
			}
		})
	}
}

// TestExitCode_Layout checks the hand-built statuses against the kernel's
// meaning, so that TestExitCode tests what it claims to.
func TestExitCode_Layout(t *testing.T) {
	if ws := exited(3); !ws.Exited() || ws.ExitStatus() != 3 || ws.Signaled() {
		t.Errorf("exited(3) = %#x is not an exit with code 3", uint32(ws))
	}
	if ws := signaled(syscall.SIGKILL); !ws.Signaled() || ws.Signal() != syscall.SIGKILL || ws.CoreDump() || ws.Exited() {
		t.Errorf("signaled(SIGKILL) = %#x is not a kill by SIGKILL", uint32(ws))
	}
	if ws := dumped(syscall.SIGSEGV); !ws.Signaled() || ws.Signal() != syscall.SIGSEGV || !ws.CoreDump() {
		t.Errorf("dumped(SIGSEGV) = %#x is not a core-dumping SIGSEGV", uint32(ws))
	}
}

func TestStartErrorCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"exec.ErrNotFound", exec.ErrNotFound, ExitNotFound},
		{"LookPath not in PATH", &exec.Error{Name: "node", Err: exec.ErrNotFound}, ExitNotFound},
		{"wrapped LookPath error", fmt.Errorf("look up %q: %w", "node", &exec.Error{Name: "node", Err: exec.ErrNotFound}), ExitNotFound},
		{"fs.ErrNotExist", fs.ErrNotExist, ExitNotFound},
		{"ENOENT", syscall.ENOENT, ExitNotFound},
		{"wrapped ENOENT", fmt.Errorf("exec %q: %w", "/app/server", syscall.ENOENT), ExitNotFound},
		{"PathError ENOENT", &fs.PathError{Op: "stat", Path: "/app/server", Err: syscall.ENOENT}, ExitNotFound},
		{"EACCES", syscall.EACCES, ExitNotExecutable},
		{"wrapped EACCES", fmt.Errorf("exec %q: %w", "/app/server", syscall.EACCES), ExitNotExecutable},
		{"ENOEXEC", syscall.ENOEXEC, ExitNotExecutable},
		{"fs.ErrPermission", fs.ErrPermission, ExitNotExecutable},
		{"LookPath not executable", &exec.Error{Name: "./server", Err: fs.ErrPermission}, ExitNotExecutable},
		{"other error", errors.New("boom"), ExitNotExecutable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := startErrorCode(tt.err); got != tt.want {
				t.Errorf("startErrorCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// TestStartErrorCode_LookPath feeds startErrorCode the errors exec.LookPath
// really returns.
func TestStartErrorCode_LookPath(t *testing.T) {
	dir := t.TempDir()
	notExec := dir + "/server.js"
	if err := os.WriteFile(notExec, []byte("console.log(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// LookPath refuses a file without any x bit even for root, as execve
	// does.
	tests := []struct {
		name string
		path string
		want int
	}{
		{"missing name", "crinit-no-such-command-in-path", ExitNotFound},
		{"missing path", dir + "/missing", ExitNotFound},
		{"not executable", notExec, ExitNotExecutable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := exec.LookPath(tt.path)
			if err == nil {
				t.Fatalf("LookPath(%q) succeeded", tt.path)
			}
			if got := startErrorCode(err); got != tt.want {
				t.Errorf("startErrorCode(%v) = %d, want %d", err, got, tt.want)
			}
		})
	}
}

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
