package procfs

import (
	"errors"
	"fmt"
	"slices"
	"syscall"
)

// appendChildren appends the children of pid to dst, from the children
// files of all its threads: a child belongs to the thread that forked it,
// and node forks from its worker threads too. It returns ErrNoChildren
// when the main thread's file is missing though its task directory is
// there, and the system call's error when pid's threads cannot be listed.
// No error allocates: the walk calls it for every process.
func (fs *FS) appendChildren(dst []int, pid int) ([]int, error) {
	fs.pidPath(pid, "task")
	tids := append(fs.tids[:0], pid)
	// A task directory links ., .. and one entry per thread: with three
	// links the process has one thread (as most have, and every zombie),
	// and listing the directory can be skipped.
	var err error
	if st, serr := fs.statPath(); serr != nil || st.Nlink != 3 {
		if tids, err = fs.appendNumeric(tids[:0]); err != nil {
			fs.tids = tids
			return dst, err
		}
		slices.Sort(tids) // /proc lists them sorted already; fixtures need not
	}
	fs.tids = tids
	for _, tid := range tids {
		fs.taskPath(pid, tid, "children")
		if dst, err = fs.readInts(dst); err == nil || tid != pid || err != syscall.ENOENT {
			continue // a thread that has just exited has no children left
		}
		fs.taskPath(pid, tid, "")
		if !fs.exists() {
			return dst, err // the process exited under us
		}
		return dst, ErrNoChildren
	}
	return dst, nil
}

// Children lists the children of pid from the children files of all its
// threads. The error wraps ErrNoChildren when the kernel has no such files
// (the main thread has none), and another error when pid is gone.
func (fs *FS) Children(pid int) ([]int, error) {
	kids, err := fs.appendChildren(nil, pid)
	if errors.Is(err, ErrNoChildren) {
		return nil, fmt.Errorf("children of pid %d: %w", pid, err)
	}
	if err != nil {
		return nil, fmt.Errorf("children of pid %d: %w", pid, fs.pathError("open", err))
	}
	return kids, nil
}

// Descendants walks the tree under pid once, breadth first: parents come
// before their children, zombies included. Processes that vanish
// mid-walk are left out, and so are their children. A pid that does not
// exist has no descendants.
//
// It reads only the tree itself, through the children files; where the
// kernel lacks them, it reads the stat of every process for its parent
// instead, and fails only when the root cannot be listed.
func (fs *FS) Descendants(pid int) ([]Proc, error) {
	kids, err := fs.appendChildren(fs.kids[:0], pid)
	fs.kids = kids
	switch {
	case err == ErrNoChildren:
		return fs.scan(pid)
	case err != nil: // pid is gone, or the root is not a procfs at all
		if err := fs.listable(); err != nil {
			return nil, err
		}
		return nil, nil
	}
	clear(fs.seen)
	fs.seen[pid] = struct{}{}
	out := fs.appendNew(nil, kids, pid)
	for i := 0; i < len(out); i++ {
		p := out[i].PID
		kids, err := fs.appendChildren(fs.kids[:0], p)
		fs.kids = kids
		if err != nil && err != ErrNoChildren {
			out[i].PID = -1 // gone: left out below
			continue
		}
		out = fs.appendNew(out, kids, p)
	}
	return slices.DeleteFunc(out, func(p Proc) bool { return p.PID < 0 }), nil
}

// appendNew appends to out the kids of ppid that the walk has not met yet.
// A process seen twice (its PID reused mid-walk) would otherwise make the
// walk go round forever.
func (fs *FS) appendNew(out []Proc, kids []int, ppid int) []Proc {
	for _, k := range kids {
		if _, ok := fs.seen[k]; ok {
			continue
		}
		fs.seen[k] = struct{}{}
		out = append(out, Proc{PID: k, PPID: ppid})
	}
	return out
}

// listable returns an error "list processes: ..." when the root cannot be
// opened as a directory.
func (fs *FS) listable() error {
	fs.rootPath()
	fd, err := fs.open(syscall.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("list processes: %w", fs.pathError("open", err))
	}
	syscall.Close(fd)
	return nil
}

// scan finds the descendants of pid by reading every process's parent
// from its stat, for kernels without children files.
func (fs *FS) scan(pid int) ([]Proc, error) {
	fs.rootPath()
	pids, err := fs.appendNumeric(nil)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", fs.pathError("read", err))
	}
	slices.Sort(pids)
	children := make(map[int][]int, len(pids))
	for _, p := range pids {
		if _, ppid, err := fs.stat(p); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	clear(fs.seen)
	fs.seen[pid] = struct{}{}
	out := fs.appendNew(nil, children[pid], pid)
	for i := 0; i < len(out); i++ {
		out = fs.appendNew(out, children[out[i].PID], out[i].PID)
	}
	return out, nil
}
