package integration

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memoryV1 is the cgroup v1 memory hierarchy the tests create cgroups in.
const memoryV1 = "/sys/fs/cgroup/memory"

// memoryCgroup creates a cgroup v1 memory cgroup named after the test with
// the given limit, and removes it when the test ends.
func memoryCgroup(t *testing.T, limit uint64) string {
	t.Helper()
	requireNamespace(t)
	_, err := os.Stat(filepath.Join(memoryV1, "memory.limit_in_bytes"))
	require(t, "a cgroup v1 memory controller at "+memoryV1, err == nil)
	name := "crinit-test-" + regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "-")
	dir := filepath.Join(memoryV1, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatalf("create cgroup: %v", err)
	}
	t.Cleanup(func() { removeCgroup(t, dir) })
	if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(strconv.FormatUint(limit, 10)), 0); err != nil {
		t.Fatalf("set cgroup limit: %v", err)
	}
	return dir
}

// removeCgroup waits for the cgroup's last process to be gone (the
// namespace's processes die with its PID 1, but not in the same instant)
// and removes it.
func removeCgroup(t *testing.T, dir string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil || strings.TrimSpace(string(b)) == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // the kernel sends no event when a cgroup empties (v1)
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("remove cgroup %s: %v", dir, err)
	}
}

// oomKills reads the cgroup's oom_kill counter.
func oomKills(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "oom_kill "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}
