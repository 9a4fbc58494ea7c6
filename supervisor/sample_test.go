//go:build linux

package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestSampleTree reads RSS, shared RSS, descriptors and RLIMIT_NOFILE of
// the fixture tree (see proctree_test.go) and counts shared pages once.
func TestSampleTree(t *testing.T) {
	live := startBlockers(t, 7)
	toReal := map[int32]int32{
		10: live[0], 11: live[1], 12: live[2], 13: live[3], 14: live[4], 15: live[5], 20: live[6],
		16: exitedPID(t),
	}
	root := fakeProc(t, toReal)
	page := uint64(os.Getpagesize())
	// statm: size resident shared text lib data dt, in pages.
	figures := map[int32]struct {
		resident, shared uint64
		fds              int
		nofile           uint64
	}{
		10: {resident: 5000, shared: 1000, fds: 7, nofile: 1024},
		11: {resident: 3000, shared: 900, fds: 3, nofile: 2048},
		13: {resident: 200, shared: 150, fds: 0, nofile: 512},
	}
	for fixture, f := range figures {
		dir := filepath.Join(root, strconv.Itoa(int(toReal[fixture])))
		write(t, filepath.Join(dir, "statm"), fmt.Sprintf("90000 %d %d 10 0 4000 0\n", f.resident, f.shared))
		write(t, filepath.Join(dir, "limits"), "Limit                     Soft Limit           Hard Limit           Units     \n"+
			fmt.Sprintf("Max open files            %-20d %-20d files     \n", f.nofile, f.nofile*2))
		if err := os.Mkdir(filepath.Join(dir, "fd"), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range f.fds {
			write(t, filepath.Join(dir, "fd", strconv.Itoa(i)), "")
		}
	}

	now := time.Unix(1000, 0)
	smp := newTreeSampler(procContext(root)).sample(1, nil, now)
	if smp.Err != nil {
		t.Fatalf("sample error: %v", smp.Err)
	}
	if !smp.At.Equal(now) {
		t.Errorf("At = %v, want %v", smp.At, now)
	}
	got := map[int32]procSample{}
	for _, p := range smp.Procs {
		for f, r := range toReal {
			if p.PID == r {
				got[f] = p
			}
		}
	}
	if len(smp.Procs) != len(figures) || len(got) != len(figures) {
		t.Fatalf("sampled %d processes (%v), want %d: 10, 11, 13", len(smp.Procs), got, len(figures))
	}
	for f, want := range figures {
		p := got[f]
		if p.RSS != want.resident*page || p.Shared != want.shared*page || p.FDs != want.fds || p.FDLimit != want.nofile {
			t.Errorf("fixture %d: %+v, want rss %d shared %d fds %d nofile %d", f, p,
				want.resident*page, want.shared*page, want.fds, want.nofile)
		}
	}
	// Private: (5000-1000) + (3000-900) + (200-150); shared once: 1000.
	if want := (4000 + 2100 + 50 + 1000) * page; smp.RSS != want {
		t.Errorf("tree RSS = %d, want %d (shared pages counted once)", smp.RSS, want)
	}
	if want := (5000 + 3000 + 200) * page; smp.RSSSum != want {
		t.Errorf("RSS sum = %d, want %d", smp.RSSSum, want)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
