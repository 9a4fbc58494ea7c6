//go:build linux

package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The fixture trees under testdata, each a root for Find:
//
//	v1-hybrid     cgroup v1 with a v2 "unified" mount beside it, as on this
//	              kind of host: memory at /sys/fs/cgroup/memory, mount root
//	              "/", the process in /docker/abc (limit 512 MiB, 2 OOM kills,
//	              failcnt 5), pids in their own hierarchy (30 of 4096, the
//	              limit on the parent)
//	v1-container  v1 seen from inside a container: the mount's root is the
//	              container's own cgroup /docker/abc (a smaller limit above
//	              the mount point must not count)
//	v1-unlimited  v1 with the "no limit" value everywhere
//	v2-ns         v2 with a cgroup namespace: "0::/", memory.max "max",
//	              memory.oom.group 1, pressure and pids (12 of 100)
//	v2-nested     v2 where the pod's cgroup holds the limit and the
//	              container's own memory.max is "max"
//	v2-no-usage   v2 without memory.current
//	none          v1 controllers without memory, and no v2 membership

func fixture(name string) string { return filepath.Join("testdata", name) }

func TestFind(t *testing.T) {
	tests := []struct {
		root     string
		version  int
		dir      string // under root
		mount    string // under root
		want     Memory
		readErrs string // Read's error, when it must fail
	}{
		{fixture("v1-hybrid"), 1, "sys/fs/cgroup/memory/docker/abc", "sys/fs/cgroup/memory",
			Memory{Limit: 536870912, Usage: 123456789, OOMKills: 2, Events: Events{Max: 5, OOMKill: 2},
				PIDs: &PIDs{Current: 30, Max: 4096}}, ""},
		{fixture("v1-container"), 1, "sys/fs/cgroup/memory", "sys/fs/cgroup/memory",
			Memory{Limit: 268435456, Usage: 73400320, OOMKills: 0}, ""},
		{fixture("v1-unlimited"), 1, "sys/fs/cgroup/memory", "sys/fs/cgroup/memory",
			Memory{Limit: 0, Usage: 4096, OOMKills: 0}, ""},
		{fixture("v2-ns"), 2, "sys/fs/cgroup", "sys/fs/cgroup",
			Memory{Limit: 0, Usage: 52428800, OOMKills: 1, Events: Events{Max: 7, OOM: 3, OOMKill: 1},
				Pressure: &Pressure{Some: Stall{1.5, 0.75, 2500000}, Full: Stall{0.5, 0.25, 1000000}},
				PIDs:     &PIDs{Current: 12, Max: 100}}, ""},
		{fixture("v2-nested"), 2, "sys/fs/cgroup/kubepods.slice/kubepods-pod1.slice/cri-containerd-ctr.scope", "sys/fs/cgroup",
			Memory{Limit: 536870912, Usage: 209715200, OOMKills: 0}, ""},
		{fixture("v2-no-usage"), 2, "sys/fs/cgroup/app", "sys/fs/cgroup", Memory{}, "memory usage"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.root), func(t *testing.T) {
			cg, err := Find(tt.root)
			if err != nil {
				t.Fatalf("Find(%s): %v", tt.root, err)
			}
			want := Cgroup{Version: tt.version, Dir: filepath.Join(tt.root, tt.dir), Mount: filepath.Join(tt.root, tt.mount)}
			if cg.PIDsDir != "" {
				want.PIDsDir, want.PIDsMount = cg.PIDsDir, cg.PIDsMount // checked through Read's PIDs
			}
			if *cg != want {
				t.Errorf("Find(%s) = %+v, want %+v", tt.root, *cg, want)
			}
			m, err := cg.Read()
			if tt.readErrs != "" {
				if err == nil {
					t.Fatalf("Read = %+v, want an error", m)
				}
				if !strings.Contains(err.Error(), tt.readErrs) || !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Read error %q: want it to name %q and wrap ENOENT", err, tt.readErrs)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !reflect.DeepEqual(m, tt.want) {
				t.Errorf("Read = %s, want %s", show(m), show(tt.want))
			}
		})
	}
}

// tree writes files (path under root: content) into a fresh root.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	v1MemoryMount = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	v2Mount       = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
	unifiedMount  = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
)

func TestFind_NoCgroup(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"fixture", nil}, // testdata/none
		{"v2 membership, no cgroup2 mount", map[string]string{
			"proc/self/cgroup":    "0::/app\n",
			"proc/self/mountinfo": "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n",
		}},
		{"v2 mount without cgroup.controllers", map[string]string{
			"proc/self/cgroup":    "0::/app\n",
			"proc/self/mountinfo": v2Mount,
		}},
		{"v1 memory listed but not mounted", map[string]string{
			"proc/self/cgroup":    "4:memory:/docker/abc\n",
			"proc/self/mountinfo": "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n",
		}},
		{"memory mounted, not a member", map[string]string{
			"proc/self/cgroup":    "3:cpuset:/\n",
			"proc/self/mountinfo": v1MemoryMount,
		}},
		{"empty files", map[string]string{
			"proc/self/cgroup":    "",
			"proc/self/mountinfo": "",
		}},
		{"malformed lines", map[string]string{
			"proc/self/cgroup":    "memory\n4-memory-/x\n",
			"proc/self/mountinfo": "35 31 0:32 / /sys/fs/cgroup/memory rw cgroup cgroup rw,memory\ngarbage - \n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fixture("none")
			if tt.files != nil {
				root = tree(t, tt.files)
			}
			cg, err := Find(root)
			if !errors.Is(err, ErrNoCgroup) {
				t.Errorf("Find = %+v, %v; want ErrNoCgroup", cg, err)
			}
		})
	}
}

func TestFind_Unreadable(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no proc/self/cgroup", map[string]string{"proc/self/mountinfo": v1MemoryMount}, "cgroup membership"},
		{"no mountinfo", map[string]string{"proc/self/cgroup": "4:memory:/\n"}, "mountinfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cg, err := Find(tree(t, tt.files))
			if err == nil || errors.Is(err, ErrNoCgroup) {
				t.Fatalf("Find = %+v, %v; want a read error", cg, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %q: want it to name %q and wrap ENOENT", err, tt.want)
			}
		})
	}
}

// TestFind_Choice: which hierarchy and directory wins.
func TestFind_Choice(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		version int
		dir     string
	}{
		{"v1 memory wins over a v2 hierarchy", map[string]string{
			"proc/self/cgroup":                         "4:memory:/a\n0::/b\n",
			"proc/self/mountinfo":                      unifiedMount + v1MemoryMount,
			"sys/fs/cgroup/unified/cgroup.controllers": "",
		}, 1, "sys/fs/cgroup/memory/a"},
		{"v2 when memory is not in v1", map[string]string{
			"proc/self/cgroup":                 "4:cpuset:/a\n0::/b\n",
			"proc/self/mountinfo":              "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n" + v2Mount,
			"sys/fs/cgroup/cgroup.controllers": "memory\n",
		}, 2, "sys/fs/cgroup/b"},
		{"co-mounted controllers", map[string]string{
			"proc/self/cgroup":    "5:cpu,memory:/svc\n",
			"proc/self/mountinfo": "35 31 0:32 / /sys/fs/cgroup/cpu,memory rw,relatime shared:9 - cgroup cgroup rw,cpu,memory\n",
		}, 1, "sys/fs/cgroup/cpu,memory/svc"},
		{"container below the mount's root", map[string]string{
			"proc/self/cgroup":    "4:memory:/docker/abc/app\n",
			"proc/self/mountinfo": "665 660 0:36 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n",
		}, 1, "sys/fs/cgroup/memory/app"},
		{"memory_recursiveprot is not memory", map[string]string{
			"proc/self/cgroup":                 "0::/\n",
			"proc/self/mountinfo":              "1077 1076 0:30 / /sys/fs/cgroup ro - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot\n",
			"sys/fs/cgroup/cgroup.controllers": "memory\n",
		}, 2, "sys/fs/cgroup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, tt.files)
			cg, err := Find(root)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if cg.Version != tt.version || cg.Dir != filepath.Join(root, tt.dir) {
				t.Errorf("Find = v%d %s, want v%d %s", cg.Version, cg.Dir, tt.version, filepath.Join(root, tt.dir))
			}
		})
	}
}

func TestCgroup_Read(t *testing.T) {
	tests := []struct {
		name    string
		version int
		dir     string // under the mount
		files   map[string]string
		want    Memory
		wantErr string
	}{
		{"v2 child below its parent", 2, "pod/ctr", map[string]string{
			"memory.max": "max\n", "pod/memory.max": "536870912\n", "pod/ctr/memory.max": "268435456\n",
			"pod/ctr/memory.current": "1000\n",
		}, Memory{Limit: 268435456, Usage: 1000}, ""},
		{"v2 grandparent smallest", 2, "a/b/c", map[string]string{
			"a/memory.max": "104857600\n", "a/b/memory.max": "max\n", "a/b/c/memory.max": "536870912\n",
			"a/b/c/memory.current": "7\n",
		}, Memory{Limit: 104857600, Usage: 7}, ""},
		{"v2 no memory.max anywhere", 2, "a", map[string]string{"a/memory.current": "7\n"}, Memory{Usage: 7}, ""},
		{"v2 events without oom_kill", 2, "a", map[string]string{
			"a/memory.current": "7\n", "a/memory.events": "low 0\nhigh 0\nmax 3\noom 2\n",
		}, Memory{Usage: 7, Events: Events{Max: 3, OOM: 2}}, ""},
		{"v2 garbled pressure is left out", 2, "a", map[string]string{
			"a/memory.current": "7\n", "a/memory.pressure": "some avg10=x avg60=0 avg300=0 total=1\nfull avg10=0 avg60=0 avg300=0 total=1\n",
		}, Memory{Usage: 7}, ""},
		{"v1 nested unlimited", 1, "docker/abc", map[string]string{
			"memory.limit_in_bytes": "9223372036854771712\n", "docker/memory.limit_in_bytes": "9223372036854771712\n",
			"docker/abc/memory.limit_in_bytes": "9223372036854771712\n", "docker/abc/memory.usage_in_bytes": "5\n",
			"docker/abc/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n",
		}, Memory{Usage: 5, OOMKills: 4, Events: Events{OOMKill: 4}}, ""},
		{"v1 limit on the parent", 1, "docker/abc", map[string]string{
			"docker/memory.limit_in_bytes":     "1073741824\n",
			"docker/abc/memory.limit_in_bytes": "9223372036854771712\n", "docker/abc/memory.usage_in_bytes": "5\n",
		}, Memory{Limit: 1073741824, Usage: 5}, ""},
		{"v2 garbage usage", 2, "a", map[string]string{"a/memory.current": "lots\n"}, Memory{}, "memory usage"},
		{"v2 garbage limit", 2, "a", map[string]string{"a/memory.current": "7\n", "a/memory.max": "lots\n"}, Memory{}, "memory limit"},
		{"v1 missing usage", 1, "a", map[string]string{"a/memory.limit_in_bytes": "1024\n"}, Memory{}, "memory usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for p, c := range tt.files {
				files[filepath.Join("cg", p)] = c
			}
			root := tree(t, files)
			mount := filepath.Join(root, "cg")
			if err := os.MkdirAll(filepath.Join(mount, tt.dir), 0o755); err != nil {
				t.Fatal(err)
			}
			cg := &Cgroup{Version: tt.version, Dir: filepath.Join(mount, tt.dir), Mount: mount}
			m, err := cg.Read()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Read = %+v, %v; want an error naming %q", m, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !reflect.DeepEqual(m, tt.want) {
				t.Errorf("Read = %s, want %s", show(m), show(tt.want))
			}
		})
	}
}

func TestCgroup_Events(t *testing.T) {
	tests := []struct {
		root    string
		version int
		dir     string
		want    Events
	}{
		{fixture("v2-ns"), 2, "sys/fs/cgroup", Events{Max: 7, OOM: 3, OOMKill: 1}},
		{fixture("v2-nested"), 2, "sys/fs/cgroup/kubepods.slice/kubepods-pod1.slice/cri-containerd-ctr.scope", Events{}},
		{fixture("v1-hybrid"), 1, "sys/fs/cgroup/memory/docker/abc", Events{Max: 5, OOMKill: 2}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.root), func(t *testing.T) {
			cg := &Cgroup{Version: tt.version, Dir: filepath.Join(tt.root, tt.dir)}
			got, err := cg.Events()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Events() = %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		cg := &Cgroup{Version: 2, Dir: t.TempDir()}
		if got, err := cg.Events(); err == nil || !strings.Contains(err.Error(), "memory events") {
			t.Errorf("Events() on an empty dir = %v, %v; want an error naming memory events", got, err)
		}
	})
}

func TestKeyedValues(t *testing.T) {
	got := keyedValues([]byte("max 3\nbad line\noom_kill x\n\nlow 1\n"))
	if want := map[string]uint64{"max": 3, "low": 1}; !maps.Equal(got, want) {
		t.Errorf("keyedValues = %v, want %v", got, want)
	}
}

// show prints a Memory with what its pointers hold.
func show(m Memory) string {
	return fmt.Sprintf("%+v pressure %+v pids %+v", m, m.Pressure, m.PIDs)
}

func TestParsePressure(t *testing.T) {
	tests := []struct {
		name, text string
		want       Pressure
		ok         bool
	}{
		{"both lines", "some avg10=12.34 avg60=5.00 avg300=1.00 total=123456\nfull avg10=1.00 avg60=0.50 avg300=0.10 total=6543\n",
			Pressure{Some: Stall{12.34, 5, 123456}, Full: Stall{1, 0.5, 6543}}, true},
		{"some only (the host's cpu file)", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", Pressure{}, false},
		{"a field missing", "some avg10=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", Pressure{}, false},
		{"negative total", "some avg10=0 avg60=0 avg300=0 total=-1\nfull avg10=0 avg60=0 avg300=0 total=0\n", Pressure{}, false},
		{"empty", "", Pressure{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parsePressure([]byte(tt.text))
			if got != tt.want || ok != tt.ok {
				t.Errorf("parsePressure = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestCgroup_OOMGroup(t *testing.T) {
	tests := []struct {
		name    string
		version int
		files   map[string]string
		wantDir string // under the mount; "" for off
	}{
		{"on the container", 2, map[string]string{"pod/ctr/memory.oom.group": "1\n", "pod/memory.oom.group": "0\n"}, "pod/ctr"},
		{"on the pod only", 2, map[string]string{"pod/ctr/memory.oom.group": "0\n", "pod/memory.oom.group": "1\n"}, "pod"},
		{"off", 2, map[string]string{"pod/ctr/memory.oom.group": "0\n"}, ""},
		{"not there (an old kernel)", 2, map[string]string{"pod/ctr/memory.max": "max\n"}, ""},
		{"v1 has none", 1, map[string]string{"pod/ctr/memory.oom.group": "1\n"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for p, c := range tt.files {
				files[filepath.Join("cg", p)] = c
			}
			mount := filepath.Join(tree(t, files), "cg")
			cg := &Cgroup{Version: tt.version, Dir: filepath.Join(mount, "pod/ctr"), Mount: mount}
			dir, on := cg.OOMGroup()
			if want := tt.wantDir != ""; on != want || (on && dir != filepath.Join(mount, tt.wantDir)) {
				t.Errorf("OOMGroup = %q, %v; want %q, %v", dir, on, tt.wantDir, want)
			}
		})
	}
}

func TestFind_PIDs(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		pidsDir string // under root; "" for none
	}{
		{"v2 with pids enabled", map[string]string{
			"proc/self/cgroup": "0::/app\n", "proc/self/mountinfo": v2Mount,
			"sys/fs/cgroup/cgroup.controllers": "memory pids\n", "sys/fs/cgroup/app/pids.current": "3\n",
		}, "sys/fs/cgroup/app"},
		{"v2 without the pids controller", map[string]string{
			"proc/self/cgroup": "0::/app\n", "proc/self/mountinfo": v2Mount,
			"sys/fs/cgroup/cgroup.controllers": "memory\n",
		}, ""},
		{"v1 without a pids hierarchy", map[string]string{
			"proc/self/cgroup": "4:memory:/a\n9:pids:/a\n", "proc/self/mountinfo": v1MemoryMount,
		}, ""},
		{"v1 pids co-mounted elsewhere", map[string]string{
			"proc/self/cgroup":    "4:memory:/a\n9:pids,devices:/b\n",
			"proc/self/mountinfo": v1MemoryMount + "39 31 0:36 / /sys/fs/cgroup/pids,devices rw - cgroup cgroup rw,pids,devices\n",
		}, "sys/fs/cgroup/pids,devices/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, tt.files)
			cg, err := Find(root)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			want := ""
			if tt.pidsDir != "" {
				want = filepath.Join(root, tt.pidsDir)
			}
			if cg.PIDsDir != want {
				t.Errorf("PIDsDir = %q, want %q", cg.PIDsDir, want)
			}
		})
	}
}
