package procfs

import (
	"bufio"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The fixture trees under testdata, by the PIDs their directories carry:
//
//	1  crinit
//	└─ 10 node server.js          (threads 10 and 18)
//	   ├─ 11 node worker.js      (forked by thread 10; comm "node (worker)")
//	   │  ├─ 13 esbuild           (running, empty cmdline: the comm stands in)
//	   │  ├─ 14                   (stat only: vanished before its task directory was read)
//	   │  └─ 16                   (in 11's children file, but exited: no directory)
//	   └─ 12 sh                   (forked by thread 18; zombie)
//	15                            (empty directory: vanished after the root was listed)
//	20 kthreadd                   (PPid 0, unrelated)
//
// testdata/proc has task/TID/children files; testdata/proc-nochildren is the
// same tree from a kernel without CONFIG_PROC_CHILDREN, walked by scanning
// every stat (where 14, whose stat is there, is found).

const (
	withChildren    = "testdata/proc"
	withoutChildren = "testdata/proc-nochildren"
)

// unknownPID is above PID_MAX_LIMIT: never a real PID.
const unknownPID = 1<<22 + 1

func TestDescendants(t *testing.T) {
	tests := []struct {
		name string
		root string
		pid  int
		want []Proc
	}{
		{"from crinit", withChildren, 1, []Proc{{10, 1}, {11, 10}, {12, 10}, {13, 11}}},
		{"from the child", withChildren, 10, []Proc{{11, 10}, {12, 10}, {13, 11}}},
		{"from a worker", withChildren, 11, []Proc{{13, 11}}},
		{"leaf", withChildren, 13, nil},
		{"zombie", withChildren, 12, nil},
		{"unrelated", withChildren, 20, nil},
		{"vanished", withChildren, 14, nil},
		{"empty directory", withChildren, 15, nil},
		{"unknown pid", withChildren, unknownPID, nil},
		{"scan from crinit", withoutChildren, 1, []Proc{{10, 1}, {11, 10}, {12, 10}, {13, 11}, {14, 11}}},
		{"scan from the child", withoutChildren, 10, []Proc{{11, 10}, {12, 10}, {13, 11}, {14, 11}}},
		{"scan from a worker", withoutChildren, 11, []Proc{{13, 11}, {14, 11}}},
		{"scan leaf", withoutChildren, 13, nil},
		{"scan unrelated", withoutChildren, 20, nil},
		{"scan unknown pid", withoutChildren, unknownPID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := NewFS(tt.root)
			for range 2 { // a second walk reuses the scratch space
				got, err := fs.Descendants(tt.pid)
				if err != nil {
					t.Fatalf("Descendants(%d): %v", tt.pid, err)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("Descendants(%d) = %v, want %v", tt.pid, got, tt.want)
				}
			}
		})
	}
}

func TestDescendants_MissingRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "no-proc-here")
	got, err := NewFS(root).Descendants(1)
	if err == nil {
		t.Fatalf("Descendants under missing %s = %v, want an error", root, got)
	}
	if !strings.HasPrefix(err.Error(), "list processes: ") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %q does not say what failed", err)
	}
}

// TestDescendants_Cycle walks a tree whose children files go round (a PID
// reused mid-walk): the walk must end, each process listed once.
func TestDescendants_Cycle(t *testing.T) {
	root := t.TempDir()
	mkTask(t, root, 2, 2, []int{3})
	mkTask(t, root, 3, 3, []int{4, 2})
	mkTask(t, root, 4, 4, []int{3})
	got, err := NewFS(root).Descendants(2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Proc{{3, 2}, {4, 3}}; !slices.Equal(got, want) {
		t.Errorf("Descendants(2) = %v, want %v", got, want)
	}
}

// TestDescendants_LongChildrenFile reads a children file longer than the
// scratch buffer: no PID may be lost or cut at the buffer's edge.
func TestDescendants_LongChildrenFile(t *testing.T) {
	root := t.TempDir()
	var kids []int
	for i := range 3000 { // about 24 KiB of "1000000 1000001 ..."
		kids = append(kids, 1000000+i)
	}
	mkTask(t, root, 7, 7, kids)
	got, err := NewFS(root).Children(7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, kids) {
		t.Errorf("Children(7) found %d PIDs, want %d", len(got), len(kids))
	}
}

func TestChildren(t *testing.T) {
	tests := []struct {
		name      string
		root      string
		pid       int
		want      []int
		wantErr   bool
		noChildFS bool // the error wraps ErrNoChildren
	}{
		{"one thread", withChildren, 1, []int{10}, false, false},
		{"children of all threads", withChildren, 10, []int{11, 12}, false, false},
		{"gone ones listed too", withChildren, 11, []int{13, 14, 16}, false, false},
		{"none", withChildren, 13, nil, false, false},
		{"vanished", withChildren, 14, nil, true, false},
		{"unknown", withChildren, unknownPID, nil, true, false},
		{"no children files", withoutChildren, 10, nil, true, true},
		{"no children files, vanished", withoutChildren, 14, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewFS(tt.root).Children(tt.pid)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Children(%d) error %v, want error %v", tt.pid, err, tt.wantErr)
			}
			if errors.Is(err, ErrNoChildren) != tt.noChildFS {
				t.Errorf("Children(%d) error %v: wraps ErrNoChildren %v, want %v", tt.pid, err, !tt.noChildFS, tt.noChildFS)
			}
			if err != nil && !strings.Contains(err.Error(), "pid "+strconv.Itoa(tt.pid)) {
				t.Errorf("error %q does not name the pid", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Children(%d) = %v, want %v", tt.pid, got, tt.want)
			}
		})
	}
}

// TestChildren_ThreadGone lists a thread whose children file is missing
// (it exited after the task directory was read): its children are gone
// with it, the others' remain.
func TestChildren_ThreadGone(t *testing.T) {
	root := t.TempDir()
	mkTask(t, root, 5, 5, []int{6})
	mkTask(t, root, 5, 8, nil)
	got, err := NewFS(root).Children(5)
	if err != nil || !slices.Equal(got, []int{6}) {
		t.Errorf("Children(5) = %v, %v; want [6], nil", got, err)
	}
}

// mkTask makes root/PID/task/TID, with a children file listing kids unless
// kids is nil.
func mkTask(t *testing.T, root string, pid, tid int, kids []int) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid), "task", strconv.Itoa(tid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if kids == nil {
		return
	}
	var b strings.Builder
	for _, k := range kids {
		b.WriteString(strconv.Itoa(k) + " ")
	}
	if err := os.WriteFile(filepath.Join(dir, "children"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDescendants_RealProc walks the real /proc from the test process: its
// helpers, and a helper's own child, must show up under their parents with
// their command lines.
func TestDescendants_RealProc(t *testing.T) {
	self := os.Getpid()
	blockers := startBlockers(t, 2)
	parent, grandchild := startParent(t)
	fs := NewFS("")
	got, err := fs.Descendants(self)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]int{blockers[0]: self, blockers[1]: self, parent: self, grandchild: parent}
	for pid, ppid := range want {
		i := slices.IndexFunc(got, func(p Proc) bool { return p.PID == pid })
		if i < 0 {
			t.Errorf("helper %d missing from descendants %v", pid, got)
			continue
		}
		if got[i].PPID != ppid {
			t.Errorf("helper %d found under %d, want %d", pid, got[i].PPID, ppid)
		}
		if j := slices.IndexFunc(got, func(p Proc) bool { return p.PID == ppid }); ppid != self && j > i {
			t.Errorf("helper %d listed before its parent %d: %v", pid, ppid, got)
		}
		if cmd, want := fs.Command(pid), os.Args[0]+" "+blockerArg; cmd != want {
			t.Errorf("helper %d: command %q, want %q", pid, cmd, want)
		}
	}
	kids, err := fs.Children(self)
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{blockers[0], blockers[1], parent} {
		if !slices.Contains(kids, pid) {
			t.Errorf("Children(self) = %v, missing helper %d", kids, pid)
		}
	}
}

// blockerArg marks the helpers' command lines.
const blockerArg = "crinit-test-blocker"

// startBlockers starts n copies of the test binary that live until the test
// ends, and returns their PIDs.
func startBlockers(t *testing.T, n int) []int {
	t.Helper()
	pids := make([]int, 0, n)
	for range n {
		cmd, out := startHelper(t, "block")
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			t.Fatalf("blocker: %v", err)
		}
		pids = append(pids, cmd.Process.Pid)
	}
	return pids
}

// startParent starts a helper that starts a blocker of its own, and
// returns both PIDs once the grandchild is running.
func startParent(t *testing.T) (parent, grandchild int) {
	t.Helper()
	cmd, out := startHelper(t, "parent")
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("parent helper: %v", err)
	}
	grandchild, err = strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("parent helper wrote %q: %v", line, err)
	}
	return cmd.Process.Pid, grandchild
}

// startHelper runs the test binary as helper name until the test ends;
// out is the helper's stdout.
func startHelper(t *testing.T, name string) (*exec.Cmd, *os.File) {
	t.Helper()
	cmd := exec.Command(os.Args[0], blockerArg)
	cmd.Env = append(os.Environ(), helperEnv+"="+name, "GORACE=atexit_sleep_ms=0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper %s (%d): %v", name, cmd.Process.Pid, err)
		}
		r.Close()
	})
	return cmd, r
}

func TestDirentNames(t *testing.T) {
	// rec is a 24-byte linux_dirent64 record that claims reclen bytes.
	rec := func(name string, reclen int) []byte {
		b := make([]byte, 24)
		binary.NativeEndian.PutUint16(b[16:], uint16(reclen))
		copy(b[19:], name)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"dots left out", slices.Concat(rec(".", 24), rec("..", 24), rec("10", 24), rec("self", 24)), []string{"10", "self"}},
		{"name filling the record", rec("12345", 24), []string{"12345"}},
		{"reclen too short", slices.Concat(rec("10", 24), rec("11", 8), rec("12", 24)), []string{"10"}},
		{"reclen past the end", rec("10", 24)[:22], nil},
		{"short tail", slices.Concat(rec("10", 24), make([]byte, 10)), []string{"10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			direntNames(tt.in, func(name []byte) { got = append(got, string(name)) })
			if !slices.Equal(got, tt.want) {
				t.Errorf("direntNames = %q, want %q", got, tt.want)
			}
		})
	}
}
