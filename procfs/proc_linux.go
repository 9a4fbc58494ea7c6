package procfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// readPID reads root/PID/name into the scratch buffer. The error names the
// file; build it only on the way out, so that the hot paths stay free of
// allocation when all goes well.
func (fs *FS) readPID(pid int, name string) ([]byte, error) {
	fs.pidPath(pid, name)
	return fs.read()
}

// pathError wraps a system call's error with the file in fs.path.
func (fs *FS) pathError(op string, err error) error {
	return &os.PathError{Op: op, Path: fs.pathString(), Err: err}
}

// stat reads the state and parent of pid from its stat file.
func (fs *FS) stat(pid int) (state byte, ppid int, err error) {
	b, err := fs.readPID(pid, "stat")
	if err != nil {
		return 0, 0, fs.pathError("read", err)
	}
	state, ppid, err = parseStat(b)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", fs.pathString(), err)
	}
	return state, ppid, nil
}

// LastPID is the PID most recently allocated in crinit's PID namespace,
// from root/loadavg. Any process created since a reading, anywhere in the
// namespace, changes it.
func (fs *FS) LastPID() (int, error) {
	fs.path = append(append(fs.path[:0], fs.root...), "/loadavg\x00"...)
	b, err := fs.read()
	if err != nil {
		return 0, fs.pathError("read", err)
	}
	return parseLoadavg(b)
}

// State is the state letter of /proc/PID/stat: 'R' running, 'S' sleeping,
// 'D' in uninterruptible sleep, 'Z' zombie, 'T' stopped, and so on.
func (fs *FS) State(pid int) (byte, error) {
	state, _, err := fs.stat(pid)
	return state, err
}

// PPID is the parent PID of /proc/PID/stat.
func (fs *FS) PPID(pid int) (int, error) {
	_, ppid, err := fs.stat(pid)
	return ppid, err
}

// Statm reads /proc/PID/statm. A zombie's is all zeros.
func (fs *FS) Statm(pid int) (Statm, error) {
	b, err := fs.readPID(pid, "statm")
	if err != nil {
		return Statm{}, fs.pathError("read", err)
	}
	st, err := parseStatm(b)
	if err != nil {
		return Statm{}, fmt.Errorf("%s: %w", fs.pathString(), err)
	}
	return st, nil
}

// FDCount is the number of the process's open descriptors; -1 when
// /proc/PID/fd cannot be read (the process is gone, or belongs to another
// user). Linux 6.2 and later give the count as the directory's size, one
// system call; a size of 0 (an older kernel, or truly no descriptors)
// falls back to counting the entries.
func (fs *FS) FDCount(pid int) int {
	if !fs.isProcKnown {
		var st syscall.Statfs_t
		fs.isProc, fs.isProcKnown = syscall.Statfs(fs.root, &st) == nil && st.Type == procSuperMagic, true
	}
	fs.pidPath(pid, "fd")
	if fs.isProc {
		if st, err := fs.statPath(); err == nil && st.Size > 0 {
			return int(st.Size)
		}
	}
	return fs.countEntries()
}

// procSuperMagic is statfs(2)'s f_type of a procfs.
const procSuperMagic = 0x9fa0

// NofileLimit is the soft "Max open files" (RLIMIT_NOFILE) of
// /proc/PID/limits: the limit the process really has, which for a child of
// a Go program may differ from the parent's (golang/go#66797). 0 when
// unknown or "unlimited".
func (fs *FS) NofileLimit(pid int) uint64 {
	b, err := fs.readPID(pid, "limits")
	if err != nil {
		return 0
	}
	return parseNofile(b)
}

// readFile reads root/PID/name whole, with the os package: for files that
// may be longer than the scratch buffer and are read off the hot path.
func (fs *FS) readFile(pid int, name string) ([]byte, error) {
	b, err := os.ReadFile(fs.filePath(pid, name))
	if err != nil {
		return nil, fmt.Errorf("read %s of pid %d: %w", name, pid, err)
	}
	return b, nil
}

// Cmdline is the argv of /proc/PID/cmdline. It is empty for kernel
// threads, zombies and processes caught mid-exec.
func (fs *FS) Cmdline(pid int) ([]string, error) {
	b, err := fs.readFile(pid, "cmdline")
	if err != nil {
		return nil, err
	}
	return splitNUL(b), nil
}

// Comm is the command name of /proc/PID/comm (at most 15 bytes of the
// executable's name, or what the process set with prctl(PR_SET_NAME)).
func (fs *FS) Comm(pid int) (string, error) {
	b, err := fs.readFile(pid, "comm")
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// Command describes pid for a log line: its argv joined by single spaces,
// or its comm when the command line is empty (kernel threads, zombies,
// processes caught mid-exec); "" when the process is gone.
func (fs *FS) Command(pid int) string {
	args, err := fs.Cmdline(pid)
	if err != nil {
		return ""
	}
	if len(args) > 0 {
		return strings.Join(args, " ")
	}
	comm, _ := fs.Comm(pid)
	return comm
}

// Environ is the environment of /proc/PID/environ, as it was at exec:
// later changes the process made to its own environment do not show.
// Reading another user's needs privilege.
func (fs *FS) Environ(pid int) ([]string, error) {
	b, err := fs.readFile(pid, "environ")
	if err != nil {
		return nil, err
	}
	return splitNUL(b), nil
}

// OOMScoreAdj reads /proc/PID/oom_score_adj (-1000 to 1000).
func (fs *FS) OOMScoreAdj(pid int) (int, error) {
	b, err := fs.readFile(pid, "oom_score_adj")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("parse oom_score_adj of pid %d: %w", pid, err)
	}
	return n, nil
}

// SetOOMScoreAdj writes adj to /proc/PID/oom_score_adj. Raising it needs
// no privilege; lowering it may need CAP_SYS_RESOURCE. The file is never
// created: a process gone is an error.
func (fs *FS) SetOOMScoreAdj(pid, adj int) error {
	path := fs.filePath(pid, "oom_score_adj")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("set oom_score_adj of pid %d: %w", pid, err)
	}
	_, err = f.WriteString(strconv.Itoa(adj))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("set oom_score_adj of pid %d: %w", pid, err)
	}
	return nil
}

// Fate says how far a process is on its way out.
type Fate struct {
	Zombie bool // exited, waiting for its parent to reap it
	Dying  bool // a zombie, in exit, or with SIGKILL pending, as a process the OOM killer has just picked
}

// Fate reads /proc/PID/stat, and /proc/PID/status when stat does not tell.
// A process gone is neither: it is dead.
func (fs *FS) Fate(pid int) Fate {
	b, err := fs.readPID(pid, "stat")
	if err != nil {
		return Fate{}
	}
	state, flags, err := parseStatFlags(b)
	if err != nil {
		return Fate{}
	}
	if state == 'Z' || state == 'X' || state == 'x' {
		return Fate{Zombie: state == 'Z', Dying: true}
	}
	if flags&pfExiting != 0 {
		return Fate{Dying: true}
	}
	b, err = fs.readPID(pid, "status")
	return Fate{Dying: err == nil && sigkillPending(b)}
}
