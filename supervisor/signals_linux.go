package supervisor

import (
	"os"
	"os/signal"
	"strconv"

	"golang.org/x/sys/unix"
)

// sigRTMax is the highest real-time signal on Linux.
const sigRTMax = 64

// forwardable returns every signal crinit catches: all of 1..SIGRTMAX but
// SIGKILL and SIGSTOP (uncatchable), SIGURG (the Go runtime's own preemption
// signal) and any signal crinit inherited as ignored. An inherited SIG_IGN is
// left alone so that the child inherits it too, exactly as crinit did.
func forwardable() []os.Signal {
	sigs := make([]os.Signal, 0, sigRTMax)
	for n := 1; n <= sigRTMax; n++ {
		sig := unix.Signal(n)
		switch sig {
		case unix.SIGKILL, unix.SIGSTOP, unix.SIGURG:
			continue
		}
		if signal.Ignored(sig) {
			continue
		}
		sigs = append(sigs, sig)
	}
	return sigs
}

// isShutdown reports whether sig asks crinit to stop the child and exit.
func isShutdown(sig unix.Signal) bool {
	return sig == unix.SIGTERM || sig == unix.SIGINT || sig == unix.SIGQUIT
}

// signalName names sig the way bash's kill -l does: real-time signals count
// up from SIGRTMIN (glibc's, 34) to SIGRTMIN+15 and down from SIGRTMAX.
func signalName(sig unix.Signal) string {
	const sigRTMin = 34 // glibc's SIGRTMIN; 32 and 33 are reserved by it
	switch {
	case sig == sigRTMin:
		return "SIGRTMIN"
	case sig == sigRTMax:
		return "SIGRTMAX"
	case sig > sigRTMin && sig <= sigRTMin+15:
		return "SIGRTMIN+" + strconv.Itoa(int(sig-sigRTMin))
	case sig > sigRTMin+15 && sig < sigRTMax:
		return "SIGRTMAX-" + strconv.Itoa(int(sigRTMax-sig))
	case unix.SignalName(sig) != "":
		return unix.SignalName(sig)
	}
	return "SIG" + strconv.Itoa(int(sig))
}
