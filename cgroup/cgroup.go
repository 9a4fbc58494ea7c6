package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
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
	// PIDsDir and PIDsMount are the pids controller's cgroup and mount:
	// Dir and Mount on v2, a hierarchy of its own on v1; "" without one.
	PIDsDir, PIDsMount string
}

// Memory is one reading of a memory cgroup.
type Memory struct {
	Limit    uint64 `json:"limit_bytes"` // 0 means no limit, on this cgroup or its ancestors
	Usage    uint64 `json:"usage_bytes"` // charged now
	OOMKills uint64 `json:"oom_kills"`   // processes the kernel's OOM killer has killed in it
	// Events are the memory event counters; Pressure and PIDs are nil
	// where the kernel does not provide them.
	Events   Events    `json:"events"`
	Pressure *Pressure `json:"pressure,omitempty"`
	PIDs     *PIDs     `json:"pids,omitempty"`
}

// Events counts what happened at the cgroup's memory limits
// (cgroup-v2.rst, memory.events): Max, times usage reached memory.max (v1:
// memory.failcnt); High, times it went over memory.high and was throttled;
// OOM, times the OOM killer was invoked; OOMKill, processes it killed (v1:
// memory.oom_control's oom_kill); OOMGroupKill, group kills.
type Events struct {
	Max          uint64 `json:"max"`
	High         uint64 `json:"high"`
	OOM          uint64 `json:"oom"`
	OOMKill      uint64 `json:"oom_kill"`
	OOMGroupKill uint64 `json:"oom_group_kill"`
}

// Pressure is memory.pressure (PSI): how long the cgroup's tasks stalled
// waiting for memory. Some counts time when at least one task stalled,
// Full time when all non-idle tasks did at once.
type Pressure struct {
	Some Stall `json:"some"`
	Full Stall `json:"full"`
}

// Stall is one line of a pressure file: the stalled share of time in
// percent, averaged over 10 and 60 seconds, and the total stall time.
type Stall struct {
	Avg10   float64 `json:"avg10"`
	Avg60   float64 `json:"avg60"`
	TotalUS uint64  `json:"total_us"`
}

// PIDs is the pids controller's reading: tasks in the cgroup and its
// limit (0: none), the smallest on the cgroup or an ancestor.
type PIDs struct {
	Current uint64 `json:"current"`
	Max     uint64 `json:"max"`
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
	var v1, v1pids, v2 string
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
		case hasWord(f[1], ",", "pids"):
			v1pids = f[2]
		}
	}
	ms := parseMountinfo(mounts)
	for _, m := range ms {
		if v1 != "" && m.fstype == "cgroup" && hasWord(m.options, ",", "memory") {
			cg := m.cgroup(root, 1, v1)
			for _, p := range ms {
				if v1pids != "" && p.fstype == "cgroup" && hasWord(p.options, ",", "pids") {
					pc := p.cgroup(root, 1, v1pids)
					cg.PIDsDir, cg.PIDsMount = pc.Dir, pc.Mount
					break
				}
			}
			return cg, nil
		}
	}
	if v2 != "" {
		for _, m := range ms {
			if m.fstype == "cgroup2" {
				cg := m.cgroup(root, 2, v2)
				if _, err := os.Stat(filepath.Join(cg.Mount, "cgroup.controllers")); err == nil {
					if _, err := os.Stat(filepath.Join(cg.Dir, "pids.current")); err == nil {
						cg.PIDsDir, cg.PIDsMount = cg.Dir, cg.Mount
					}
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

// Read returns the cgroup's memory limit, usage, event counters, pressure
// and pids. The limit is the smallest set on the cgroup or any ancestor up
// to the mount: a parent's limit binds its children too. Only the usage
// must be readable; what else is missing is left zero or nil.
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
	// A limit that cannot be read is an error, not "no limit": that would
	// look like a resize to unlimited.
	if m.Limit, err = smallest(c.Dir, c.Mount, limitFile); err != nil {
		return m, fmt.Errorf("read cgroup memory limit: %w", err)
	}
	if ev, err := c.Events(); err == nil {
		m.Events, m.OOMKills = ev, ev.OOMKill
	}
	if c.Version == 2 {
		if b, err := readFile(filepath.Join(c.Dir, "memory.pressure")); err == nil {
			if p, ok := parsePressure(b); ok {
				m.Pressure = &p
			}
		}
	}
	if c.PIDsDir != "" {
		n, err := readUint(filepath.Join(c.PIDsDir, "pids.current"))
		if limit, lerr := smallest(c.PIDsDir, c.PIDsMount, "pids.max"); err == nil && lerr == nil {
			m.PIDs = &PIDs{Current: n, Max: limit}
		}
	}
	return m, nil
}

// smallest is the smallest limit in file on dir or an ancestor up to
// mount; 0 when none is set. A directory without the file (the root
// cgroup has none) sets none; a file that cannot be read is an error.
func smallest(dir, mount, file string) (uint64, error) {
	var limit uint64
	for ; ; dir = filepath.Dir(dir) {
		l, err := readUint(filepath.Join(dir, file))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return 0, err
		case l > 0 && l < unlimited && (limit == 0 || l < limit):
			limit = l
		}
		if dir == mount || len(dir) <= len(mount) {
			return limit, nil
		}
	}
}

// Events reads the cgroup's memory event counters: memory.events on v2;
// memory.failcnt and memory.oom_control on v1.
func (c *Cgroup) Events() (Events, error) {
	if c.Version == 1 {
		b, err := readFile(filepath.Join(c.Dir, "memory.oom_control"))
		if err != nil {
			return Events{}, fmt.Errorf("read cgroup memory events: %w", err)
		}
		failcnt, _ := readUint(filepath.Join(c.Dir, "memory.failcnt"))
		return Events{Max: failcnt, OOMKill: keyedValues(b)["oom_kill"]}, nil
	}
	b, err := readFile(filepath.Join(c.Dir, "memory.events"))
	if err != nil {
		return Events{}, fmt.Errorf("read cgroup memory events: %w", err)
	}
	kv := keyedValues(b)
	return Events{Max: kv["max"], High: kv["high"], OOM: kv["oom"], OOMKill: kv["oom_kill"], OOMGroupKill: kv["oom_group_kill"]}, nil
}

// OOMGroup reports whether the kernel's OOM killer kills the cgroup's
// processes together (memory.oom.group=1 on the cgroup or an ancestor, as
// Kubernetes sets on cgroup v2), and where it is set. v1 has no such
// setting.
func (c *Cgroup) OOMGroup() (dir string, on bool) {
	if c.Version != 2 {
		return "", false
	}
	for d := c.Dir; ; d = filepath.Dir(d) {
		if n, err := readUint(filepath.Join(d, "memory.oom.group")); err == nil && n == 1 {
			return d, true
		}
		if d == c.Mount || len(d) <= len(c.Mount) {
			return "", false
		}
	}
}

// parsePressure reads a PSI file: "some avg10=… avg60=… avg300=… total=…"
// and the same for "full". ok is false unless both lines parse.
func parsePressure(b []byte) (p Pressure, ok bool) {
	var seen int
	for _, line := range strings.Split(string(b), "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		var st *Stall
		switch kind {
		case "some":
			st = &p.Some
		case "full":
			st = &p.Full
		default:
			continue
		}
		n := 0
		for _, kv := range strings.Fields(rest) {
			k, v, _ := strings.Cut(kv, "=")
			var err error
			switch k {
			case "avg10":
				st.Avg10, err = strconv.ParseFloat(v, 64)
			case "avg60":
				st.Avg60, err = strconv.ParseFloat(v, 64)
			case "total":
				st.TotalUS, err = strconv.ParseUint(v, 10, 64)
			default:
				continue
			}
			if err != nil {
				return Pressure{}, false
			}
			n++
		}
		if n != 3 {
			return Pressure{}, false
		}
		seen++
	}
	return p, seen == 2
}

// readUint reads a file holding one number; "max" (v2's "no limit") is 0.
func readUint(path string) (uint64, error) {
	b, err := readFile(path)
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
