//go:build linux

package supervisor

import (
	"os/signal"
	"testing"

	"golang.org/x/sys/unix"
)

func forwardSet(t *testing.T) map[unix.Signal]bool {
	t.Helper()
	set := map[unix.Signal]bool{}
	for _, s := range forwardable() {
		sig, ok := s.(unix.Signal)
		if !ok {
			t.Fatalf("forwardable() holds %T %v, want unix.Signal", s, s)
		}
		if sig < 1 || sig > sigRTMax {
			t.Errorf("forwardable() holds %d, outside 1..%d", sig, sigRTMax)
		}
		if set[sig] {
			t.Errorf("forwardable() holds %d twice", sig)
		}
		set[sig] = true
	}
	return set
}

func TestForwardable(t *testing.T) {
	set := forwardSet(t)
	for _, tt := range []struct {
		name string
		sig  unix.Signal
		want bool
	}{
		{"SIGKILL", unix.SIGKILL, false},
		{"SIGSTOP", unix.SIGSTOP, false},
		{"SIGURG", unix.SIGURG, false},
		{"SIGTERM", unix.SIGTERM, true},
		{"SIGINT", unix.SIGINT, true},
		{"SIGQUIT", unix.SIGQUIT, true},
		{"SIGHUP", unix.SIGHUP, true},
		{"SIGUSR1", unix.SIGUSR1, true},
		{"SIGUSR2", unix.SIGUSR2, true},
		{"SIGWINCH", unix.SIGWINCH, true},
		{"SIGCHLD", unix.SIGCHLD, true},
		{"SIGRTMIN", 34, true},
		{"SIGRTMIN+6", 40, true},
		{"SIGRTMAX", 64, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want && signal.Ignored(tt.sig) {
				// The test process inherited it as ignored: it must stay
				// ignored so that the child inherits that too.
				want = false
			}
			if set[tt.sig] != want {
				t.Errorf("forwardable() includes %v: %v, want %v", tt.sig, set[tt.sig], want)
			}
		})
	}
	ignored := 0
	for n := 1; n <= sigRTMax; n++ {
		if signal.Ignored(unix.Signal(n)) {
			ignored++
		}
	}
	if want := sigRTMax - 3 - ignored; len(set) != want {
		t.Errorf("forwardable() has %d signals, want %d (all of 1..%d but SIGKILL, SIGSTOP, SIGURG and %d ignored)", len(set), want, sigRTMax, ignored)
	}
}

// TestForwardable_KeepsIgnored: a signal ignored when crinit starts is not
// caught, so the child inherits SIG_IGN exactly as crinit did.
func TestForwardable_KeepsIgnored(t *testing.T) {
	const sig = unix.SIGUSR2
	if signal.Ignored(sig) {
		t.Skip("SIGUSR2 is ignored already; Reset would not restore that")
	}
	signal.Ignore(sig)
	t.Cleanup(func() { signal.Reset(sig) })
	if forwardSet(t)[sig] {
		t.Errorf("forwardable() includes ignored %v", sig)
	}
	if !forwardSet(t)[unix.SIGUSR1] {
		t.Errorf("forwardable() left out SIGUSR1 along with ignored SIGUSR2")
	}
}

func TestIsShutdown(t *testing.T) {
	for _, tt := range []struct {
		sig  unix.Signal
		want bool
	}{
		{unix.SIGTERM, true},
		{unix.SIGINT, true},
		{unix.SIGQUIT, true},
		{unix.SIGHUP, false},
		{unix.SIGUSR1, false},
		{unix.SIGCHLD, false},
		{unix.SIGWINCH, false},
		{34, false},
	} {
		t.Run(signalName(tt.sig), func(t *testing.T) {
			if got := isShutdown(tt.sig); got != tt.want {
				t.Errorf("isShutdown(%v) = %v, want %v", tt.sig, got, tt.want)
			}
		})
	}
}

// TestSignalName: names as bash's kill -l prints them.
func TestSignalName(t *testing.T) {
	for _, tt := range []struct {
		sig  unix.Signal
		want string
	}{
		{unix.SIGHUP, "SIGHUP"},
		{unix.SIGTERM, "SIGTERM"},
		{unix.SIGKILL, "SIGKILL"},
		{unix.SIGCHLD, "SIGCHLD"},
		{unix.SIGURG, "SIGURG"},
		{unix.SIGSYS, "SIGSYS"},
		{32, "SIG32"}, // reserved by glibc, unnamed
		{33, "SIG33"},
		{34, "SIGRTMIN"},
		{35, "SIGRTMIN+1"},
		{40, "SIGRTMIN+6"},
		{49, "SIGRTMIN+15"},
		{50, "SIGRTMAX-14"}, // kill -l counts the upper half down from SIGRTMAX
		{63, "SIGRTMAX-1"},
		{64, "SIGRTMAX"},
		{0, "SIG0"},
		{65, "SIG65"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			if got := signalName(tt.sig); got != tt.want {
				t.Errorf("signalName(%d) = %q, want %q", int(tt.sig), got, tt.want)
			}
		})
	}
}
