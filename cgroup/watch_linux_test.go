package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// inotify reports writes to plain files as it does the kernel's
// notifications on cgroupfs, so a directory stands in for a v2 cgroup.
func TestEventWatch_V2(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("memory.events", "oom_kill 0\n")
	write("cgroup.events", "populated 1\nfrozen 0\n")
	w, err := (&Cgroup{Version: 2, Dir: dir, Mount: dir}).WatchEvents()
	if err != nil {
		t.Fatalf("WatchEvents: %v", err)
	}
	defer w.Close()

	write("memory.events", "oom_kill 1\n")
	if err := w.Wait(); err != nil {
		t.Fatalf("Wait after memory.events changed: %v", err)
	}
	write("cgroup.events", "populated 1\nfrozen 1\n")
	if err := w.Wait(); err != nil {
		t.Fatalf("Wait after cgroup.events changed, still populated: %v", err)
	}
	write("cgroup.events", "populated 0\nfrozen 0\n")
	if err := w.Wait(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Wait once the cgroup emptied = %v, want ErrEmpty", err)
	}

	done := make(chan error)
	go func() { done <- w.Wait() }()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; !errors.Is(err, os.ErrClosed) {
		t.Errorf("Wait across Close = %v, want os.ErrClosed", err)
	}
}

func TestEventWatch_Refused(t *testing.T) {
	dir := t.TempDir()
	if w, err := (&Cgroup{Version: 2, Dir: dir, Mount: dir}).WatchEvents(); err == nil {
		w.Close()
		t.Error("WatchEvents without memory.events succeeded")
	}
	// v1 needs cgroup.event_control; a plain directory has none.
	if err := os.WriteFile(filepath.Join(dir, "memory.oom_control"), []byte("oom_kill 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if w, err := (&Cgroup{Version: 1, Dir: dir, Mount: dir}).WatchEvents(); err == nil {
		w.Close()
		t.Error("v1 WatchEvents without cgroup.event_control succeeded")
	}
}
