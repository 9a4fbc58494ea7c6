package supervisor

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// snapFile is a file of a heap snapshot directory fixture.
type snapFile struct {
	name string
	age  time.Duration // its mtime is this long before epoch
	dir  bool
}

// snapshotDir creates files in a fresh directory with the given mtimes.
func snapshotDir(t *testing.T, files []snapFile) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		var err error
		if f.dir {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, []byte("{}"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		mt := epoch.Add(-f.age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names // sorted by name
}

func TestPruneSnapshots(t *testing.T) {
	// Names out of mtime order, so that sorting by name would keep the
	// wrong ones.
	snaps := []snapFile{
		{name: "Heap.20240301.120000.1.0.001.heapsnapshot", age: 1 * time.Minute},
		{name: "Heap.20240301.110000.1.0.002.heapsnapshot", age: 5 * time.Minute},
		{name: "a.heapsnapshot", age: 3 * time.Minute},
		{name: "z.heapsnapshot", age: 10 * time.Minute},
		{name: "m.heapsnapshot", age: 2 * time.Minute},
	}
	others := []snapFile{
		{name: "report.json", age: time.Hour},
		{name: "old.heapsnapshot.tmp", age: time.Hour},
		{name: "heapsnapshot", age: time.Hour},
		{name: "ancient.heapsnapshot", age: 24 * time.Hour, dir: true},
		{name: "sub", age: 24 * time.Hour, dir: true},
	}
	otherNames := []string{"ancient.heapsnapshot", "heapsnapshot", "old.heapsnapshot.tmp", "report.json", "sub"}

	tests := []struct {
		name        string
		keep        int
		wantRemoved []string // oldest first
	}{
		{"keep 3", 3, []string{"z.heapsnapshot", "Heap.20240301.110000.1.0.002.heapsnapshot"}},
		{"keep 1", 1, []string{"z.heapsnapshot", "Heap.20240301.110000.1.0.002.heapsnapshot", "a.heapsnapshot", "m.heapsnapshot"}},
		{"keep all", 5, nil},
		{"keep more than there are", 10, nil},
		{"keep 0 removes all", 0, []string{"z.heapsnapshot", "Heap.20240301.110000.1.0.002.heapsnapshot", "a.heapsnapshot",
			"m.heapsnapshot", "Heap.20240301.120000.1.0.001.heapsnapshot"}},
		{"negative keep removes all", -1, []string{"z.heapsnapshot", "Heap.20240301.110000.1.0.002.heapsnapshot", "a.heapsnapshot",
			"m.heapsnapshot", "Heap.20240301.120000.1.0.001.heapsnapshot"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := snapshotDir(t, append(slices.Clone(snaps), others...))
			removed, err := pruneSnapshots(dir, tt.keep)
			if err != nil {
				t.Fatalf("pruneSnapshots: %v", err)
			}
			if !slices.Equal(removed, tt.wantRemoved) {
				t.Errorf("removed %q, want %q", removed, tt.wantRemoved)
			}
			var want []string
			for _, s := range snaps {
				if !slices.Contains(tt.wantRemoved, s.name) {
					want = append(want, s.name)
				}
			}
			want = append(want, otherNames...)
			slices.Sort(want)
			if got := listDir(t, dir); !slices.Equal(got, want) {
				t.Errorf("left %q, want %q", got, want)
			}
		})
	}
}

func TestPruneSnapshots_SameMtime(t *testing.T) {
	dir := snapshotDir(t, []snapFile{
		{name: "c.heapsnapshot", age: time.Minute},
		{name: "a.heapsnapshot", age: time.Minute},
		{name: "b.heapsnapshot", age: time.Minute},
	})
	removed, err := pruneSnapshots(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.heapsnapshot", "b.heapsnapshot"}; !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q (ties broken by name)", removed, want)
	}
	if got, want := listDir(t, dir), []string{"c.heapsnapshot"}; !slices.Equal(got, want) {
		t.Errorf("left %q, want %q", got, want)
	}
}

func TestPruneSnapshots_Empty(t *testing.T) {
	removed, err := pruneSnapshots(t.TempDir(), 0)
	if err != nil || len(removed) != 0 {
		t.Errorf("pruneSnapshots(empty dir) = %q, %v; want nothing, no error", removed, err)
	}
}

func TestPruneSnapshots_MissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	removed, err := pruneSnapshots(dir, 3)
	if err == nil {
		t.Fatalf("pruneSnapshots(%s) = %q, want an error", dir, removed)
	}
	if !strings.Contains(err.Error(), "list heap snapshots") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %q: want it to say what failed and wrap ENOENT", err)
	}
}
