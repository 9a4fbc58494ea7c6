//go:build ignore

// reapchild gives its init (PID 1 of a PID namespace) orphans to reap and
// measures how long the init takes. It is not part of the module's packages
// (the ignore tag keeps it out of ./...); bench/reap.sh builds it by file
// name:
//
//	go build -o reapchild bench/reapchild/main.go
//
//	reapchild [-n 5000] [-burst FIFO] [-hold]
//
// Each orphan comes from an intermediate that forks it and exits at once;
// reapchild waits for the intermediate only, so the orphan, which exits at
// once too, is left to PID 1. "Left" below is what /proc lists besides PID 1
// and reapchild: only orphans, alive or zombies, live in the namespace.
//
// Phase 1: fork n orphans as fast as it can, then scan /proc every
// millisecond until none is left, and print
//
//	spawn_us=S total_us=T
//
// S is the time the forks took, T the time from the first fork to the scan
// that found none left.
//
// Phase 2, with -burst: wait for a line on FIFO (the caller has stopped the
// init with SIGSTOP meanwhile), fork n orphans, which pile up as zombies,
// print "forked", then scan /proc every millisecond until none is left and
// print "burst_end_us=E", E being CLOCK_REALTIME in microseconds. The caller
// sends SIGCONT after "forked" and takes the time it did: the difference is
// how long the init took to reap n zombies at once.
//
// With -hold it then sleeps until killed, so that the caller can read the
// init's CPU time while the init is still there.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 5000, "orphans to leave to PID 1")
	burst := flag.String("burst", "", "FIFO to wait on before the burst phase")
	hold := flag.Bool("hold", false, "sleep after the report until killed")
	flag.Parse()

	start := time.Now()
	forkOrphans(*n)
	spawned := time.Since(start)
	waitNoneLeft()
	fmt.Printf("spawn_us=%d total_us=%d\n", spawned.Microseconds(), time.Since(start).Microseconds())

	if *burst != "" {
		f, err := os.Open(*burst)
		if err != nil {
			fail(err.Error())
		}
		if _, err := bufio.NewReader(f).ReadString('\n'); err != nil {
			fail("reading " + *burst + ": " + err.Error())
		}
		forkOrphans(*n)
		fmt.Println("forked")
		waitNoneLeft()
		fmt.Printf("burst_end_us=%d\n", time.Now().UnixMicro())
	}
	for *hold {
		time.Sleep(time.Hour)
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "reapchild:", msg)
	os.Exit(1)
}

// forkOrphans leaves n orphans to PID 1, waiting for each intermediate.
func forkOrphans(n int) {
	for i := 0; i < n; i++ {
		pid, errno := forkOrphan()
		if errno != 0 {
			fail("fork: " + errno.Error())
		}
		var ws syscall.WaitStatus
		for {
			_, err := syscall.Wait4(int(pid), &ws, 0, nil)
			if err != syscall.EINTR {
				break
			}
		}
	}
}

// forkOrphan forks an intermediate that forks a grandchild and exits; the
// grandchild exits too. Both run only raw system calls between fork and
// exit: after a fork only the calling thread exists, so they must not touch
// the Go runtime (no allocation, no scheduler, no stack growth). It returns
// the intermediate's PID, to be waited for.
//
//go:nosplit
//go:norace
func forkOrphan() (uintptr, syscall.Errno) {
	pid, _, errno := syscall.RawSyscall(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0)
	if errno != 0 || pid != 0 {
		return pid, errno // the caller, or a failed fork
	}
	// The intermediate: fork the grandchild, then both exit at once.
	syscall.RawSyscall(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0)
	syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	return 0, 0 // not reached
}

// waitNoneLeft scans /proc every millisecond until it lists no process but
// PID 1 and this one. Listing the directory is enough (a zombie stays listed
// until reaped) and stays cheap with thousands of zombies.
func waitNoneLeft() {
	self := fmt.Sprint(os.Getpid())
	for {
		d, err := os.Open("/proc")
		if err != nil {
			fail(err.Error())
		}
		names, err := d.Readdirnames(-1)
		d.Close()
		if err != nil {
			fail(err.Error())
		}
		left := 0
		for _, name := range names {
			if name[0] >= '0' && name[0] <= '9' && name != "1" && name != self {
				left++
			}
		}
		if left == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
