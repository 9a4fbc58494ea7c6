package procfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// bufSize is the scratch buffer's size. The files read into it whole
// (stat, statm, limits) are far smaller, and would be cut at this size;
// children files and directories are read through it in pieces, whole.
const bufSize = 8192

// FS reads one procfs mount. It keeps one scratch buffer, so an FS belongs
// to one goroutine: make one per owner.
type FS struct {
	root string
	buf  *[bufSize]byte
	path []byte // NUL-terminated path of the last file opened

	// isProc: root is a real procfs (not a fixture), whose fd directories
	// give their count as their size; unknown until FDCount first asks.
	isProc, isProcKnown bool

	// Scratch slices of the tree walk, reused from call to call.
	tids []int
	kids []int
	seen map[int]struct{}
}

// NewFS returns an FS that reads the procfs mounted at root; "" means
// "/proc".
func NewFS(root string) *FS {
	if root == "" {
		root = "/proc"
	}
	return &FS{
		root: root,
		buf:  new([bufSize]byte),
		path: make([]byte, 0, len(root)+48),
		seen: map[int]struct{}{},
	}
}

// Root is the directory the FS reads.
func (fs *FS) Root() string { return fs.root }

// Proc is one process of a walk.
type Proc struct {
	PID  int
	PPID int // the parent it was found under
}

// Statm is proc(5)'s statm of one process, in pages.
type Statm struct {
	Size     uint64 // total program size
	Resident uint64 // resident set size
	Shared   uint64 // resident pages backed by files or shared memory
}

// ErrNoChildren means the kernel has no task/*/children files (it was built
// without CONFIG_PROC_CHILDREN), so children are found by a full scan.
var ErrNoChildren = errors.New("kernel has no /proc/PID/task/TID/children files")

// pidPath sets fs.path to root/PID/name (root/PID when name is empty).
func (fs *FS) pidPath(pid int, name string) {
	fs.path = appendEntry(append(fs.path[:0], fs.root...), pid, name)
}

// taskPath sets fs.path to root/PID/task/TID/name (no name: the task's
// directory).
func (fs *FS) taskPath(pid, tid int, name string) {
	p := appendEntry(append(fs.path[:0], fs.root...), pid, "task")
	fs.path = appendEntry(p[:len(p)-1], tid, name)
}

// appendEntry appends /N, then /name unless it is empty, and a NUL.
func appendEntry(p []byte, n int, name string) []byte {
	p = strconv.AppendInt(append(p, '/'), int64(n), 10)
	if name != "" {
		p = append(append(p, '/'), name...)
	}
	return append(p, 0)
}

// rootPath sets fs.path to the root itself.
func (fs *FS) rootPath() {
	fs.path = append(append(fs.path[:0], fs.root...), 0)
}

// pathString is fs.path without its NUL, for error messages.
func (fs *FS) pathString() string {
	return string(fs.path[:len(fs.path)-1])
}

// filePath is root/PID/name as a string, for the os package's readers.
func (fs *FS) filePath(pid int, name string) string {
	fs.pidPath(pid, name)
	return fs.pathString()
}

// Self is the PID of the calling process as this procfs sees it: the
// target of root/self. It differs from os.Getpid when the procfs belongs
// to another PID namespace (a new namespace without its own proc mount),
// where every PID read here names some other process.
func (fs *FS) Self() (int, error) {
	target, err := os.Readlink(fs.root + "/self")
	if err != nil {
		return 0, fmt.Errorf("read %s/self: %w", fs.root, err)
	}
	pid, err := strconv.Atoi(target)
	if err != nil {
		return 0, fmt.Errorf("read %s/self: %q is no PID", fs.root, target)
	}
	return pid, nil
}
