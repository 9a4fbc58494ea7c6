package supervisor

import (
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// awaitExit reaps through h until pid has exited, woken by SIGCHLD.
func awaitExit(t *testing.T, h *osHost, pid int) syscall.WaitStatus {
	t.Helper()
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	defer signal.Stop(chld)
	timeout := time.After(10 * time.Second)
	for {
		for _, e := range h.reap() {
			if e.pid == pid {
				return e.status
			}
		}
		select {
		case <-chld:
		case <-timeout:
			t.Fatalf("pid %d did not exit", pid)
		}
	}
}

// TestOSHost runs a real process tree through the host crinit uses.
func TestOSHost(t *testing.T) {
	h := newOSHost(os.Getpid(), "", nil)
	st, err := h.start(startSpec{argv: []string{"sh", "-c", "sleep 30 & wait"}, env: os.Environ()})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	pid := st.pid
	// Nothing tells when sh has forked and exec'd sleep: look until it has.
	var procs []proc
	execd := func() bool { return len(procs) == 2 && strings.HasPrefix(procs[1].Command, "sleep") }
	for deadline := time.Now().Add(10 * time.Second); !execd() && time.Now().Before(deadline); {
		runtimeYield()
		if procs, err = h.descendants(); err != nil {
			t.Fatalf("descendants: %v", err)
		}
	}
	if len(procs) < 2 {
		t.Fatalf("descendants %+v, want sh and sleep", procs)
	}
	if procs[0].PID != pid || procs[1].PPID != pid || !strings.HasPrefix(procs[1].Command, "sleep") {
		t.Fatalf("descendants %+v, want sh %d and its sleep", procs, pid)
	}
	if cmd := h.command(pid); !strings.HasPrefix(cmd, "sh -c") {
		t.Errorf("command %q, want sh -c …", cmd)
	}
	if h.takesHeapSnapshot(pid) {
		t.Error("sh takes heap snapshots, want only node")
	}
	if from, raised := h.raiseOOMScore(pid, 600); !raised || from >= 600 {
		t.Errorf("raiseOOMScore = %d, %v; want raised from below 600", from, raised)
	}
	if _, raised := h.raiseOOMScore(pid, 300); raised {
		t.Error("raiseOOMScore lowered the score")
	}
	if err := h.setOOMScore(procs[1].PID, 700); err != nil {
		t.Errorf("setOOMScore: %v", err)
	}
	if _, ok := h.memory(); ok {
		t.Error("memory read without a cgroup")
	}
	if err := h.signal(-pid, syscall.SIGTERM); err != nil {
		t.Fatalf("signal the group: %v", err)
	}
	if ws := awaitExit(t, h, pid); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("sh ended %v, want SIGTERM", ws)
	}
	if err := h.signal(pid, syscall.SIGTERM); err != nil {
		t.Errorf("signal to a reaped pid: %v, want ESRCH ignored", err)
	}
	if _, err := h.start(startSpec{argv: []string{"crinit-no-such-command"}}); err == nil {
		t.Error("start of a missing command succeeded")
	}
}

// runtimeYield gives a just-forked process a moment to run, without
// sleeping a fixed time.
func runtimeYield() { _ = syscall.Nanosleep(&syscall.Timespec{Nsec: 1e6}, nil) }

// TestOSHost_HeapSnapshot reads node's flags from a /proc fixture.
func TestOSHost_HeapSnapshot(t *testing.T) {
	root := t.TempDir()
	fixture := map[int][2]string{
		10: {"node\x00" + snapshotFlag + "\x00server.js\x00", ""},
		11: {"node\x00server.js\x00", "PATH=/bin\x00NODE_OPTIONS=--max-old-space-size=256 " + snapshotFlag + "\x00"},
		12: {"node\x00server.js\x00", "NODE_OPTIONS=--max-old-space-size=256\x00"},
		13: {"/bin/sh\x00-c\x00node " + snapshotFlag + "\x00", ""},
		14: {"", ""},
	}
	for pid, files := range fixture {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{"cmdline": files[0], "environ": files[1]} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := newOSHost(1, root, nil)
	var got []int
	for pid := 10; pid <= 15; pid++ {
		if h.takesHeapSnapshot(pid) {
			got = append(got, pid)
		}
	}
	if want := []int{10, 11}; !slices.Equal(got, want) {
		t.Errorf("take heap snapshots: %v, want %v", got, want)
	}
}

// TestRun supervises real processes through New and Run.
func TestRun(t *testing.T) {
	cfg := testConfig()
	cfg.Argv = []string{"sh", "-c", "sleep 0.2; exit 3"}
	cfg.Restart.Mode = Never
	cfg.SampleInterval = 50 * time.Millisecond
	cfg.Probe, cfg.ProbeInterval, cfg.ProbePolicy.Retries = newTestProber(t), time.Second, 3
	s, err := New(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if code := s.Run(); code != 3 {
		t.Errorf("Run = %d, want the child's 3", code)
	}
	st := s.Status()
	if st.State != StateDone || st.LastExit == nil || st.LastExit.Code != 3 || st.Tree == nil {
		t.Errorf("status %+v, want done after exit 3 with the tree sampled", st)
	}
}

// TestNotifySocket sends sd_notify datagrams to a real notify socket: each
// line arrives with the sender's pid.
func TestNotifySocket(t *testing.T) {
	ns, err := listenNotify()
	if err != nil {
		t.Fatal(err)
	}
	out, quit := make(chan note), make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); ns.read(out, quit) }()
	defer func() { close(quit); ns.conn.Close(); <-done }()
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: ns.name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("READY=1\nSTATUS=serving\n")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"READY=1", "STATUS=serving"} {
		select {
		case n := <-out:
			if n.msg != want || n.pid != os.Getpid() {
				t.Errorf("note %+v, want %q from pid %d", n, want, os.Getpid())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no note %q", want)
		}
	}
}

// TestOwnProc refuses a procfs whose self is another PID: one of another
// PID namespace, where crinit would act on processes not its own.
func TestOwnProc(t *testing.T) {
	if err := ownProc("", os.Getpid()); err != nil {
		t.Errorf("the real /proc: %v", err)
	}
	if err := ownProc(t.TempDir(), 1); err != nil {
		t.Errorf("a fixture without self: %v", err)
	}
	foreign := t.TempDir()
	if err := os.Symlink("4242", filepath.Join(foreign, "self")); err != nil {
		t.Fatal(err)
	}
	if err := ownProc(foreign, 1); err == nil || !strings.Contains(err.Error(), "another PID namespace") {
		t.Errorf("a foreign /proc: %v, want it refused", err)
	}
	if _, err := New(Config{Argv: []string{"true"}, ProcRoot: foreign, ForwardTo: ForwardGroup, Restart: Policy{Mode: Never, Window: time.Second}}, hclog.NewNullLogger()); err == nil {
		t.Error("New accepted a foreign /proc")
	}
	if err := os.Remove(filepath.Join(foreign, "self")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("self-is-no-pid", filepath.Join(foreign, "self")); err != nil {
		t.Fatal(err)
	}
	if err := ownProc(foreign, 1); err == nil {
		t.Error("a self that is no PID was accepted")
	}
}

// TestHasChildren: a child, running or exited and not reaped, counts; once
// it is reaped, nothing does.
func TestHasChildren(t *testing.T) {
	if hasChildren() {
		t.Fatal("a child before any was started")
	}
	cmd := exec.Command("sleep", "0.05")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !hasChildren() {
		t.Error("a running child not found")
	}
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open: %v", err)
	}
	defer unix.Close(pidfd)
	if n, err := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, 10_000); n != 1 || err != nil {
		t.Fatalf("child did not exit: %d, %v", n, err)
	}
	if !hasChildren() {
		t.Error("an exited child not reaped yet not found")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if hasChildren() {
		t.Error("a child found after the only one was reaped")
	}
}
