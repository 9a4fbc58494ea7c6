package supervisor

import (
	"errors"
	"io/fs"
	"os/exec"
	"syscall"
)

// Exit codes crinit uses for itself, following the shell's conventions.
const (
	ExitNotExecutable = 126 // COMMAND exists but cannot be executed
	ExitNotFound      = 127 // COMMAND was not found
	exitSignalBase    = 128 // a child killed by signal N gives 128+N
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
