package supervisor

import "golang.org/x/sys/unix"

// reclaimTerminal puts crinit's own process group back in the terminal's
// foreground. tcsetpgrp from a background group raises SIGTTOU, which
// crinit catches, and the kernel would then fail the call with a restart,
// forever; so SIGTTOU is blocked on this thread around the call (never
// ignored: an ignored signal is inherited by the next child). The caller
// must be locked to its OS thread, as Run is.
func reclaimTerminal() error {
	if _, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err != nil {
		return err // not our controlling terminal
	}
	var block, old unix.Sigset_t
	block.Val[0] = 1 << (uint(unix.SIGTTOU) - 1)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &block, &old); err != nil {
		return err
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) //nolint:errcheck // restoring the mask we read
	return unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, unix.Getpgrp())
}
