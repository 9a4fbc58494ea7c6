package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// unlimited is the threshold above which a cgroup v1 limit means "none":
// v1 reports no limit as the largest page-aligned int64.
const unlimited = 1 << 62

// Cgroup is the memory cgroup crinit runs in, v1 or v2.
type Cgroup struct {
	Version int    // 1 or 2
	Dir     string // the cgroup's directory, root included
	Mount   string // the hierarchy's mount point, root included
}

// Memory is one reading of a memory cgroup.
type Memory struct {
	Limit    uint64 `json:"limit_bytes"` // 0 means no limit, on this cgroup or its ancestors
	Usage    uint64 `json:"usage_bytes"` // charged now
	OOMKills uint64 `json:"oom_kills"`   // processes the kernel's OOM killer has killed in it
}

// ErrNoCgroup means crinit is in no memory cgroup it can read.
var ErrNoCgroup = errors.New("no memory cgroup found")

// Find locates the memory cgroup of the calling process from
// root/proc/self/cgroup and root/proc/self/mountinfo; root is "/" on a real
// system and a fixture tree in tests. A v1 memory hierarchy wins over v2 on
// hybrid systems, since only one of them can hold the memory controller.
func Find(root string) (*Cgroup, error) {
	self, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return nil, fmt.Errorf("read cgroup membership: %w", err)
	}
	mounts, err := os.ReadFile(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var v1, v2 string
	for _, line := range strings.Split(string(self), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case f[0] == "0" && f[1] == "":
			v2 = f[2]
		case hasWord(f[1], ",", "memory"):
			v1 = f[2]
		}
	}
	for _, m := range parseMountinfo(mounts) {
		if v1 != "" && m.fstype == "cgroup" && hasWord(m.options, ",", "memory") {
			return m.cgroup(root, 1, v1), nil
		}
	}
	if v2 != "" {
		for _, m := range parseMountinfo(mounts) {
			if m.fstype == "cgroup2" {
				cg := m.cgroup(root, 2, v2)
				if _, err := os.Stat(filepath.Join(cg.Mount, "cgroup.controllers")); err == nil {
					return cg, nil
				}
			}
		}
	}
	return nil, ErrNoCgroup
}

type mount struct {
	root, point, fstype, options string
}

// cgroup maps path (as /proc/self/cgroup gives it) into the mount: a
// container sees only its own part of the hierarchy, rooted at m.root.
func (m mount) cgroup(root string, version int, path string) *Cgroup {
	rel := path
	if m.root != "/" && (path == m.root || strings.HasPrefix(path, m.root+"/")) {
		rel = strings.TrimPrefix(path, m.root)
	}
	mnt := filepath.Join(root, m.point)
	return &Cgroup{Version: version, Dir: filepath.Join(mnt, rel), Mount: mnt}
}

// parseMountinfo reads the fields of proc(5)'s mountinfo crinit needs.
func parseMountinfo(b []byte) []mount {
	var out []mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 {
			continue
		}
		out = append(out, mount{root: a[3], point: a[4], fstype: b[0], options: b[2]})
	}
	return out
}

func hasWord(list, sep, word string) bool {
	for _, w := range strings.Split(list, sep) {
		if w == word {
			return true
		}
	}
	return false
}

// Read returns the cgroup's memory limit, usage and OOM-kill count. The
// limit is the smallest set on the cgroup or any ancestor up to the mount:
// a parent's limit binds its children too.
func (c *Cgroup) Read() (Memory, error) {
	limitFile, usageFile := "memory.max", "memory.current"
	if c.Version == 1 {
		limitFile, usageFile = "memory.limit_in_bytes", "memory.usage_in_bytes"
	}
	var m Memory
	usage, err := readUint(filepath.Join(c.Dir, usageFile))
	if err != nil {
		return m, fmt.Errorf("read cgroup memory usage: %w", err)
	}
	m.Usage = usage
	for dir := c.Dir; ; dir = filepath.Dir(dir) {
		if l, err := readUint(filepath.Join(dir, limitFile)); err == nil && l > 0 && l < unlimited && (m.Limit == 0 || l < m.Limit) {
			m.Limit = l
		}
		if dir == c.Mount || len(dir) <= len(c.Mount) {
			break
		}
	}
	if ev, err := c.Events(); err == nil {
		m.OOMKills = ev["oom_kill"]
	}
	return m, nil
}

// Events reads the cgroup's memory event counters by name: memory.events
// on v2 (low, high, max, oom, oom_kill, oom_group_kill), memory.oom_control
// on v1 (oom_kill_disable, under_oom, oom_kill).
func (c *Cgroup) Events() (map[string]uint64, error) {
	file := "memory.events"
	if c.Version == 1 {
		file = "memory.oom_control"
	}
	b, err := os.ReadFile(filepath.Join(c.Dir, file))
	if err != nil {
		return nil, fmt.Errorf("read cgroup memory events: %w", err)
	}
	return keyedValues(b), nil
}

// readUint reads a file holding one number; "max" (v2's "no limit") is 0.
func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return n, nil
}

// keyedValues reads a flat-keyed cgroup file such as memory.events or
// memory.oom_control: "key N" per line. Lines that are not are skipped.
func keyedValues(b []byte) map[string]uint64 {
	out := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok || k == "" {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}
