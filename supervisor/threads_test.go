package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// threadsChild, when set, makes TestReserveThreads the child process that
// stalls goroutines in syscalls in a fresh runtime: "reserve" with
// reserveThreads first, "startup" after BeginStartup, "none" without.
const threadsChild = "CRINIT_TEST_THREADS"

// TestReserveThreads: goroutines stalled in syscalls at once, fewer than
// the reserve, take the reserved threads (by reserveThreads, or by the
// start-up Run waits for) and make the kernel start none; without the
// reserve the same stall makes new ones (the control).
func TestReserveThreads(t *testing.T) {
	if mode := os.Getenv(threadsChild); mode != "" {
		stallThreads(mode)
		return
	}
	created := func(mode string) int {
		cmd := exec.Command(os.Args[0], "-test.run=^TestReserveThreads$")
		cmd.Env = append(os.Environ(), threadsChild+"="+mode)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", mode, err, out)
		}
		_, after, ok := bytes.Cut(out, []byte("created "))
		n, err := strconv.Atoi(string(bytes.Fields(after)[0]))
		if !ok || err != nil {
			t.Fatalf("%s: no thread count in %q", mode, out)
		}
		return n
	}
	reserved, startup, none := created("reserve"), created("startup"), created("none")
	t.Logf("%d syscalls stalled at once created %d threads with the reserve, %d after the start-up, %d without", stalls, reserved, startup, none)
	if reserved != 0 || startup != 0 {
		t.Errorf("with %d threads reserved, the stalls created %d threads (after the start-up: %d), want 0", threadReserve, reserved, startup)
	}
	if none == 0 {
		t.Errorf("without a reserve, the stalls created %d threads; the control should need new ones", none)
	}
}

// stalls is how many goroutines stallThreads holds in a syscall at once:
// fewer than the reserve, which also serves the runtime's own spinning
// thread while every goroutine is stalled.
const stalls = threadReserve - 2

// stallThreads holds stalls goroutines in nanosleep at once and prints how
// many threads the process gained meanwhile.
func stallThreads(mode string) {
	switch mode {
	case "reserve":
		reserveThreads(threadReserve)
	case "startup":
		BeginStartup().wait()
	}
	before := countThreads()
	var wg sync.WaitGroup
	for range stalls {
		wg.Go(func() { _ = unix.Nanosleep(&unix.Timespec{Nsec: 200e6}, nil) })
	}
	wg.Wait()
	fmt.Printf("created %d\n", countThreads()-before)
}

// countThreads reads the process's thread count from /proc/self/status.
func countThreads() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1
}
