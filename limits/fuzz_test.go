package limits

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

// FuzzKeyedValue reads flat-keyed cgroup files such as memory.events.
func FuzzKeyedValue(f *testing.F) {
	f.Add("low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n", "oom_kill")
	f.Add("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n", "oom_kill")
	f.Add("oom_kill\n", "oom_kill")
	f.Fuzz(func(t *testing.T, text, key string) {
		n := keyedValue([]byte(text), key)
		if n != 0 && !strings.Contains(text, key) {
			t.Fatalf("keyedValue(%q, %q) = %d for a key that is not there", text, key, n)
		}
	})
}

// FuzzParseThreshold reads percentages and amounts: nothing panics, and a
// parsed percentage is in (0, 100].
func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"80%", "95.5%", "0", "300MiB", "NaN%", "-1%", "1e3%", " 50 % "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThreshold(s, func(v string) (uint64, error) {
			size, err := ParseSize(v)
			return uint64(size), err
		})
		if err != nil {
			return
		}
		if th.Percent != 0 && !(th.Percent > 0 && th.Percent <= 100) {
			t.Fatalf("ParseThreshold(%q) = %v%%, outside (0, 100]", s, th.Percent)
		}
		if th.Percent > 0 && th.Of(1000) > 1000 {
			t.Fatalf("ParseThreshold(%q).Of(1000) = %d", s, th.Of(1000))
		}
	})
}
