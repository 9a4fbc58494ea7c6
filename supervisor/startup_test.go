package supervisor

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestStartup: once wait returns, a forwardable signal reaches the
// channel. (TestReserveThreads checks the start-up's threads.)
func TestStartup(t *testing.T) {
	st := BeginStartup()
	sigs := st.wait()
	defer signal.Stop(sigs)
	if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	select {
	case sig := <-sigs:
		if sig != syscall.SIGWINCH {
			t.Errorf("caught %v, want SIGWINCH", sig)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGWINCH not caught after the start-up")
	}
}
