package cgroup

import (
	"strings"
	"testing"
)

// FuzzParseMountinfo feeds arbitrary mountinfo text to the parser and the
// cgroup mapping: nothing may panic, and every mount found has its fields.
func FuzzParseMountinfo(f *testing.F) {
	f.Add("35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n")
	f.Add("41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n")
	f.Add("1 2 3 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n - \n\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, m := range parseMountinfo([]byte(text)) {
			if m.point == "" || m.fstype == "" {
				t.Fatalf("mount %+v without a mount point or type from %q", m, text)
			}
			cg := m.cgroup("/root", 1, "/docker/abc")
			if !strings.HasPrefix(cg.Dir, cg.Mount) {
				t.Fatalf("cgroup dir %q outside its mount %q", cg.Dir, cg.Mount)
			}
		}
	})
}

// FuzzKeyedValues reads flat-keyed cgroup files such as memory.events.
func FuzzKeyedValues(f *testing.F) {
	f.Add("low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n", "oom_kill")
	f.Add("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n", "oom_kill")
	f.Add("oom_kill\n", "oom_kill")
	f.Fuzz(func(t *testing.T, text, key string) {
		n := keyedValues([]byte(text))[key]
		if n != 0 && !strings.Contains(text, key) {
			t.Fatalf("keyedValues(%q)[%q] = %d for a key that is not there", text, key, n)
		}
	})
}
