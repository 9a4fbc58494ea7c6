package sampler

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/procfs"
)

// The fixture tree under testdata/proc (only the files the sampler reads):
//
//	1  crinit
//	└─ 10 node server.js        statm 5000 resident / 1000 shared pages, 7 fds, limit 1024
//	   ├─ 11 node worker.js    3000 / 900 pages, 3 fds, limit unlimited
//	   │  ├─ 13 esbuild         200 / 150 pages, 1 fd, limit 512
//	   │  └─ 14                 listed by 11, but gone: no directory
//	   ├─ 12 sh                 zombie: no resident pages
//	   └─ 17                    100 / 300 pages (shared above resident), no fd directory, no limits file
const fixtureRoot = "testdata/proc"

// TestSampleTree reads RSS, shared RSS, descriptors and RLIMIT_NOFILE of
// the fixture tree and counts shared pages once.
func TestSampleTree(t *testing.T) {
	page := uint64(os.Getpagesize())
	now := time.Unix(1000, 0)
	smp := New(procfs.NewFS(fixtureRoot), 1, nil).Sample(now)
	if smp.Err != nil {
		t.Fatalf("sample error: %v", smp.Err)
	}
	if !smp.At.Equal(now) {
		t.Errorf("At = %v, want %v", smp.At, now)
	}
	want := []Proc{
		{PID: 10, PPID: 1, RSS: 5000 * page, Shared: 1000 * page, FDs: 7, FDLimit: 1024},
		{PID: 11, PPID: 10, RSS: 3000 * page, Shared: 900 * page, FDs: 3, FDLimit: 0},
		{PID: 17, PPID: 10, RSS: 100 * page, Shared: 100 * page, FDs: -1, FDLimit: 0},
		{PID: 13, PPID: 11, RSS: 200 * page, Shared: 150 * page, FDs: 1, FDLimit: 512},
	}
	if !slices.Equal(smp.Procs, want) {
		t.Errorf("Procs =\n%+v\nwant (parents before children, zombie and gone left out)\n%+v", smp.Procs, want)
	}
	// Private: (5000-1000) + (3000-900) + (100-100) + (200-150); shared once: 1000.
	if want := (4000 + 2100 + 0 + 50 + 1000) * page; smp.RSS != want {
		t.Errorf("tree RSS = %d, want %d (shared pages counted once)", smp.RSS, want)
	}
	if want := (5000 + 3000 + 100 + 200) * page; smp.RSSSum != want {
		t.Errorf("RSS sum = %d, want %d", smp.RSSSum, want)
	}
	if smp.Cgroup != nil {
		t.Errorf("Cgroup = %+v without a cgroup, want nil", smp.Cgroup)
	}
}

func TestSample_Cgroup(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		want    *cgroup.Memory
		wantErr string
	}{
		{"v2", "testdata/cgroup", &cgroup.Memory{Limit: 536870912, Usage: 123456789, OOMKills: 1,
			Events: cgroup.Events{Max: 3, OOM: 1, OOMKill: 1}}, ""},
		{"gone", "testdata/no-such-cgroup", nil, "read cgroup: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cg := &cgroup.Cgroup{Version: 2, Dir: tt.dir, Mount: tt.dir}
			smp := New(procfs.NewFS(fixtureRoot), 1, cg).Sample(time.Unix(1, 0))
			if (tt.want == nil) != (smp.Cgroup == nil) || tt.want != nil && *smp.Cgroup != *tt.want {
				t.Errorf("Cgroup = %+v, want %+v", smp.Cgroup, tt.want)
			}
			if tt.wantErr == "" && smp.Err != nil || tt.wantErr != "" && (smp.Err == nil || !strings.HasPrefix(smp.Err.Error(), tt.wantErr)) {
				t.Errorf("Err = %v, want %q", smp.Err, tt.wantErr)
			}
			if len(smp.Procs) != 4 {
				t.Errorf("sampled %d processes, want the tree's 4 whatever the cgroup", len(smp.Procs))
			}
		})
	}
}

func TestSample_MissingRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "no-proc-here")
	smp := New(procfs.NewFS(root), 1, nil).Sample(time.Unix(1, 0))
	if smp.Err == nil || !strings.Contains(smp.Err.Error(), "list processes") || !errors.Is(smp.Err, os.ErrNotExist) {
		t.Errorf("Err = %v, want list processes: ...", smp.Err)
	}
	if smp.Procs != nil || smp.RSS != 0 {
		t.Errorf("sample of nothing = %+v", smp)
	}
}

func TestSample_Panic(t *testing.T) {
	now := time.Unix(5, 0)
	smp := (&Sampler{}).Sample(now) // no FS: the walk panics
	if smp.Err == nil || !strings.HasPrefix(smp.Err.Error(), "sampler panic: ") {
		t.Errorf("Err = %v, want sampler panic: ...", smp.Err)
	}
	if !smp.At.Equal(now) {
		t.Errorf("At = %v, want %v", smp.At, now)
	}
}

func TestNew_NilFS(t *testing.T) {
	if s := New(nil, os.Getpid(), nil); s.fs == nil || s.fs.Root() != "/proc" {
		t.Errorf("New(nil, ...) reads %v, want /proc", s.fs)
	}
}

// TestSample_NofileCache reads a process's limit and command name once,
// and forgets those of processes gone once they outnumber the living.
func TestSample_NofileCache(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "1", "task", "1", "children"), "2 ")
	write(t, filepath.Join(root, "2", "task", "2", "children"), "")
	write(t, filepath.Join(root, "2", "statm"), "10 5 1 0 0 0 0\n")
	limits := filepath.Join(root, "2", "limits")
	write(t, limits, "Max open files            100                  200                  files\n")
	write(t, filepath.Join(root, "2", "comm"), "node\n")
	s := New(procfs.NewFS(root), 1, nil)
	for pid := 1000; pid < 1100; pid++ {
		s.seen[pid] = once{nofile: 1} // processes gone
	}
	if got := s.Sample(time.Unix(1, 0)).Procs; len(got) != 1 || got[0].FDLimit != 100 || got[0].Comm != "node" {
		t.Fatalf("first sample: %+v, want pid 2 (node) with limit 100", got)
	}
	if len(s.seen) != 1 {
		t.Errorf("cache holds %d processes after pruning, want 1", len(s.seen))
	}
	write(t, limits, "Max open files            300                  300                  files\n")
	write(t, filepath.Join(root, "2", "comm"), "sh\n")
	if got := s.Sample(time.Unix(2, 0)).Procs; len(got) != 1 || got[0].FDLimit != 100 || got[0].Comm != "node" {
		t.Errorf("second sample: %+v, want the cached limit 100 and name node", got)
	}
}

// TestSample_TreeKept walks the tree again only when it may have changed:
// the namespace's last PID moved, a process of it is gone, or one became a
// zombie. A child added behind the last PID's back shows when to walk.
func TestSample_TreeKept(t *testing.T) {
	root := t.TempDir()
	loadavg := filepath.Join(root, "loadavg")
	proc := func(pid int, children string) {
		dir := filepath.Join(root, strconv.Itoa(pid))
		write(t, filepath.Join(dir, "task", strconv.Itoa(pid), "children"), children)
		write(t, filepath.Join(dir, "statm"), "10 5 1 0 0 0 0\n")
	}
	write(t, loadavg, "0.00 0.00 0.00 1/50 100\n")
	write(t, filepath.Join(root, "1", "task", "1", "children"), "2 ")
	proc(2, "")
	s := New(procfs.NewFS(root), 1, nil)
	pids := func(want ...int) {
		t.Helper()
		var got []int
		for _, p := range s.Sample(time.Unix(1, 0)).Procs {
			got = append(got, p.PID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("sampled %v, want %v", got, want)
		}
	}
	pids(2)
	proc(2, "3 ")
	proc(3, "")
	pids(2) // the last PID has not moved: the tree is the last walk's
	write(t, loadavg, "0.00 0.00 0.00 1/50 103\n")
	pids(2, 3)
	if err := os.RemoveAll(filepath.Join(root, "3")); err != nil {
		t.Fatal(err)
	}
	proc(2, "")
	pids(2) // 3 is gone: its statm cannot be read
	proc(2, "4 ")
	proc(4, "")
	pids(2, 4) // walked again, as 3 was gone
	write(t, filepath.Join(root, "4", "statm"), "0 0 0 0 0 0 0\n")
	pids(2) // 4 is a zombie now
	proc(2, "4 5 ")
	proc(5, "")
	pids(2, 5) // walked again, as 4 had become one
	proc(2, "4 5 6 ")
	proc(6, "")
	pids(2, 5) // the zombie count is steady and the last PID too
}

func TestTop(t *testing.T) {
	s := Sample{Procs: []Proc{{PID: 1, RSS: 10}, {PID: 2, RSS: 30}, {PID: 3, RSS: 20}, {PID: 4, RSS: 30}}}
	tests := []struct {
		n    int
		want []int
	}{
		{0, nil},
		{-1, nil},
		{1, []int{2}},
		{3, []int{2, 4, 3}}, // ties keep the tree's order
		{10, []int{2, 4, 3, 1}},
	}
	for _, tt := range tests {
		var got []int
		for _, p := range s.Top(tt.n) {
			got = append(got, p.PID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Top(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	if got := []int{s.Procs[0].PID, s.Procs[1].PID, s.Procs[2].PID, s.Procs[3].PID}; !slices.Equal(got, []int{1, 2, 3, 4}) {
		t.Errorf("Top reordered Procs: %v", got)
	}
	if got := (Sample{}).Top(3); got != nil {
		t.Errorf("Top of an empty sample = %v", got)
	}
}

func TestFDs(t *testing.T) {
	tests := []struct {
		name     string
		fds      []int
		sum, max int
	}{
		{"none", nil, 0, 0},
		{"tree", []int{7, 3, 1}, 11, 7},
		{"unreadable left out", []int{-1, 4, -1, 2}, 6, 4},
		{"all unreadable", []int{-1, -1}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Sample
			for i, n := range tt.fds {
				s.Procs = append(s.Procs, Proc{PID: i + 2, FDs: n})
			}
			if sum, max := s.FDs(); sum != tt.sum || max != tt.max {
				t.Errorf("FDs() = %d, %d; want %d, %d", sum, max, tt.sum, tt.max)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
