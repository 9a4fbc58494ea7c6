//go:build ignore

// sigchild measures how long a signal takes to pass through an init. It is
// not part of the module's packages (the ignore tag keeps it out of ./...);
// bench/signal.sh builds it by file name:
//
//	go build -o sigchild bench/sigchild/main.go
//
// It has two modes, both given the path of a FIFO:
//
//	sigchild recv FIFO
//	    the init's child: writes "ready" to FIFO, then for every SIGUSR1 it
//	    receives one line with CLOCK_MONOTONIC in nanoseconds. Any other
//	    signal has its default action (SIGTERM ends it).
//	sigchild send -pid PID [-n 300] [-gap 5ms] FIFO
//	    on the host: waits for "ready", then n times reads CLOCK_MONOTONIC,
//	    sends SIGUSR1 to PID (the init) and waits for the child's line before
//	    the next one. Prints each latency (child's time - sender's time) in
//	    nanoseconds, one a line.
//	sigchild term -pid PID FIFO
//	    on the host: waits for "ready", then sends SIGTERM to PID (the init),
//	    which passes it on to the child (whose default action ends it), and
//	    prints the nanoseconds until the init itself has exited, seen
//	    through a pidfd: no need to be its parent.
//
// CLOCK_MONOTONIC is system-wide, so the two processes' readings compare.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: sigchild recv FIFO | sigchild send -pid PID [-n N] [-gap D] FIFO | sigchild term -pid PID FIFO")
	}
	switch os.Args[1] {
	case "recv":
		if len(os.Args) != 3 {
			fail("usage: sigchild recv FIFO")
		}
		recv(os.Args[2])
	case "send":
		fs := flag.NewFlagSet("send", flag.ExitOnError)
		pid := fs.Int("pid", 0, "host PID of the init to signal")
		n := fs.Int("n", 300, "signals to send")
		gap := fs.Duration("gap", 5*time.Millisecond, "pause after each acknowledgement, so each signal finds the init idle")
		_ = fs.Parse(os.Args[2:])
		if *pid <= 0 || fs.NArg() != 1 {
			fail("usage: sigchild send -pid PID [-n N] [-gap D] FIFO")
		}
		send(*pid, *n, *gap, fs.Arg(0))
	case "term":
		fs := flag.NewFlagSet("term", flag.ExitOnError)
		pid := fs.Int("pid", 0, "host PID of the init to stop")
		_ = fs.Parse(os.Args[2:])
		if *pid <= 0 || fs.NArg() != 1 {
			fail("usage: sigchild term -pid PID FIFO")
		}
		term(*pid, fs.Arg(0))
	default:
		fail("unknown mode " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "sigchild:", msg)
	os.Exit(2)
}

// monotonic is CLOCK_MONOTONIC in nanoseconds.
func monotonic() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		fail("clock_gettime: " + err.Error())
	}
	return ts.Nano()
}

func recv(fifo string) {
	// Notify before "ready": from then on SIGUSR1 no longer kills us.
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, unix.SIGUSR1)
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		fail(err.Error())
	}
	if _, err := f.WriteString("ready\n"); err != nil {
		fail(err.Error())
	}
	for range sigs {
		t := monotonic()
		// One write per signal: the sender waits for this line.
		if _, err := f.WriteString(strconv.FormatInt(t, 10) + "\n"); err != nil {
			fail(err.Error()) // the sender has gone
		}
	}
}

func send(pid, n int, gap time.Duration, fifo string) {
	f, err := os.Open(fifo) // blocks until the child opens its end
	if err != nil {
		fail(err.Error())
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(what string) string {
		select {
		case l, ok := <-lines:
			if !ok {
				fail("the child closed the FIFO while waiting for " + what)
			}
			return l
		case <-time.After(5 * time.Second):
			fail("no " + what + " from the child within 5 s")
		}
		return ""
	}
	if l := next("ready"); l != "ready" {
		fail("want ready, got " + strconv.Quote(l))
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for i := 0; i < n; i++ {
		t0 := monotonic()
		if err := unix.Kill(pid, unix.SIGUSR1); err != nil {
			fail(fmt.Sprintf("kill %d: %v", pid, err))
		}
		t1, err := strconv.ParseInt(strings.TrimSpace(next("acknowledgement")), 10, 64)
		if err != nil {
			fail("bad acknowledgement: " + err.Error())
		}
		fmt.Fprintln(out, t1-t0)
		time.Sleep(gap)
	}
}

func term(pid int, fifo string) {
	f, err := os.Open(fifo) // blocks until the child opens its end
	if err != nil {
		fail(err.Error())
	}
	if l, err := bufio.NewReader(f).ReadString('\n'); err != nil || l != "ready\n" {
		fail(fmt.Sprintf("want ready, got %q, %v", l, err))
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		fail(fmt.Sprintf("pidfd_open %d: %v", pid, err))
	}
	t0 := monotonic()
	if err := unix.Kill(pid, unix.SIGTERM); err != nil {
		fail(fmt.Sprintf("kill %d: %v", pid, err))
	}
	// The pidfd polls readable once the process has exited.
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 5000)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			fail(fmt.Sprintf("init %d did not exit within 5 s of SIGTERM (%v)", pid, err))
		}
		break
	}
	fmt.Println(monotonic() - t0)
}
