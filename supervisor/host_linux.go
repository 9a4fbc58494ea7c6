package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/procfs"
)

// osHost is the host of a real process: crinit itself, its /proc and its
// cgroup. It belongs to the loop goroutine, which must be locked to its OS
// thread (the child's parent-death signal and tcsetpgrp are per thread).
type osHost struct {
	self int
	fs   *procfs.FS
	cg   *cgroup.Cgroup
}

func newOSHost(self int, procRoot string, cg *cgroup.Cgroup) *osHost {
	return &osHost{self: self, fs: procfs.NewFS(procRoot), cg: cg}
}

func (h *osHost) start(spec startSpec) (started, error) {
	path, err := exec.LookPath(spec.argv[0])
	if err != nil {
		return started{}, fmt.Errorf("look up %q: %w", spec.argv[0], err)
	}
	exe, argv, env := path, spec.argv, spec.env
	if len(spec.shim) > 0 {
		exe, argv = spec.shim[0], append(append(slices.Clone(spec.shim), path), spec.argv...)
	}
	files := []uintptr{0, 1, 2} // crinit's own descriptors, untouched
	for _, f := range spec.files {
		files = append(files, f.Fd())
	}
	var r, w *os.File
	if spec.notify {
		if r, w, err = os.Pipe(); err != nil {
			return started{}, fmt.Errorf("notify pipe: %w", err)
		}
		defer w.Close() // the child's copy is all that is needed
		env = append(slices.Clone(env), notifyFDVar+"="+strconv.Itoa(len(files)))
		files = append(files, w.Fd())
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: files,
		Sys: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if foregroundTTY() {
		attr.Sys.Foreground = true
		attr.Sys.Ctty = 0
	}
	pid, err := syscall.ForkExec(exe, argv, attr)
	if err != nil {
		if r != nil {
			r.Close()
		}
		return started{}, fmt.Errorf("exec %q: %w", path, err)
	}
	st := started{pid: pid, foreground: attr.Sys.Foreground}
	if r != nil {
		st.notes = r
	}
	return st, nil
}

// notifyFDVar names the child's notify descriptor.
const notifyFDVar = "CRINIT_NOTIFY_FD"

// foregroundTTY reports whether stdin is crinit's controlling terminal, so
// that the child's process group can take the foreground.
func foregroundTTY() bool {
	_, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil
}

func (h *osHost) signal(pid int, sig syscall.Signal) error {
	if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill(%d, %s): %w", pid, signalName(sig), err)
	}
	return nil
}

// descendants walks crinit's tree once and leaves zombies out: they are
// dead already, and reaping, not signals, ends them.
func (h *osHost) descendants() ([]proc, error) {
	if !hasChildren() {
		return nil, nil // then no descendant either: crinit is their reaper
	}
	ps, err := h.fs.Descendants(h.self)
	if err != nil {
		return nil, fmt.Errorf("list descendants: %w", err)
	}
	out := make([]proc, 0, len(ps))
	for _, p := range ps {
		if st, err := h.fs.State(p.PID); err != nil || st == 'Z' {
			continue // gone, or a zombie
		}
		out = append(out, proc{PID: p.PID, PPID: p.PPID, Command: h.fs.Command(p.PID)})
	}
	return out, nil
}

func (h *osHost) fates() ([]fated, error) {
	ps, err := h.fs.Descendants(h.self)
	if err != nil {
		return nil, fmt.Errorf("list descendants: %w", err)
	}
	out := make([]fated, 0, len(ps))
	for _, p := range ps {
		f := fated{proc: proc{PID: p.PID, PPID: p.PPID}}
		fate := h.fs.Fate(p.PID)
		if f.dying, f.zombie = fate.Dying, fate.Zombie; f.dying {
			f.Command = h.fs.Command(p.PID)
		}
		out = append(out, f)
	}
	return out, nil
}

// reap drains wait4(-1, WNOHANG) until nothing is left waiting: one
// SIGCHLD can stand for many exits.
func (h *osHost) reap() []exit {
	var out []exit
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 { // ECHILD: no children; 0: none exited
			return out
		}
		out = append(out, exit{pid: pid, status: ws})
	}
}

func (h *osHost) memory() (cgroup.Memory, bool) {
	if h.cg == nil {
		return cgroup.Memory{}, false
	}
	m, err := h.cg.Read()
	return m, err == nil
}

func (h *osHost) oomKills() (uint64, bool) {
	if h.cg == nil {
		return 0, false
	}
	ev, err := h.cg.Events()
	return ev.OOMKill, err == nil
}

func (h *osHost) setOOMScore(pid, adj int) error {
	return h.fs.SetOOMScoreAdj(pid, adj)
}

func (h *osHost) raiseOOMScore(pid, adj int) (from int, raised bool) {
	from, err := h.fs.OOMScoreAdj(pid)
	if err != nil || from >= adj {
		return from, false
	}
	return from, h.fs.SetOOMScoreAdj(pid, adj) == nil
}

func (h *osHost) command(pid int) string { return h.fs.Command(pid) }

// snapshotFlag is the node option that makes SIGUSR2 write a heap
// snapshot.
const snapshotFlag = "--heapsnapshot-signal=SIGUSR2"

// takesHeapSnapshot looks for snapshotFlag in a node process's argv or
// its NODE_OPTIONS.
func (h *osHost) takesHeapSnapshot(pid int) bool {
	args, err := h.fs.Cmdline(pid)
	if err != nil || len(args) == 0 || !limits.IsNode(args[0]) {
		return false
	}
	if slices.Contains(args, snapshotFlag) {
		return true
	}
	env, err := h.fs.Environ(pid)
	if err != nil {
		return false
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok && slices.Contains(strings.Fields(v), snapshotFlag) {
			return true
		}
	}
	return false
}

func (h *osHost) reclaimTerminal() error { return reclaimTerminal() }

// hasChildren says whether crinit has a child, living or a zombie: one
// system call, where a walk of the tree reads the children of each of
// crinit's threads. Without a child crinit has no descendant either, for
// orphans are reparented to it (it is PID 1 or a subreaper) or, when it is
// neither, are out of its sight anyway. A failure other than ECHILD counts
// as a child, so that the walk looks.
func hasChildren() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT|unix.WALL, nil)
	return !errors.Is(err, unix.ECHILD)
}
