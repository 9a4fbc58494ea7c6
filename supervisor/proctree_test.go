//go:build linux

package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shirou/gopsutil/v3/common"
)

// The fixture tree under testdata/proc, by the PIDs its directories carry:
//
//	1  crinit
//	└─ 10 node server.js
//	   ├─ 11 node worker.js      (comm "node (worker)")
//	   │  ├─ 13 esbuild           (running, empty cmdline: the name stands in)
//	   │  ├─ 14                   (stat only: vanished before status was read)
//	   │  └─ 16 node exited.js    (files intact, process gone)
//	   └─ 12 sh                   (zombie)
//	15                            (empty directory: vanished after readdir)
//	20 kthreadd                   (PPid 0, unrelated)
//
// gopsutil lists the numeric directories under the root, but unless the root
// is a mount point it asks the kernel whether each PID is alive (kill(pid,
// 0)) and drops the ones that are not. So the tree is copied with every PID
// but 1 replaced by the PID of a live helper process, and mapped back for
// the assertions. Fixture 16 gets the PID of a helper that has exited.

// fixtureCommands are the commands descendants must report, by fixture PID.
var fixtureCommands = map[int32]string{
	10: "node --max-old-space-size=256 server.js",
	11: "node worker.js --queue jobs",
	13: "esbuild",
}

func TestDescendants(t *testing.T) {
	live := startBlockers(t, 7)
	toReal := map[int32]int32{
		10: live[0], 11: live[1], 12: live[2], 13: live[3], 14: live[4], 15: live[5], 20: live[6],
		16: exitedPID(t),
	}
	root := fakeProc(t, toReal)
	toFixture := map[int32]int32{1: 1}
	for f, r := range toReal {
		toFixture[r] = f
	}
	real := func(pid int32) int32 {
		if r, ok := toReal[pid]; ok {
			return r
		}
		return pid
	}

	tests := []struct {
		name string
		pid  int32 // fixture PID
		want []int32
	}{
		{"from crinit", 1, []int32{10, 11, 13}},
		{"from the child", 10, []int32{11, 13}},
		{"from a worker", 11, []int32{13}},
		{"leaf", 13, nil},
		{"zombie", 12, nil},
		{"unrelated", 20, nil},
		{"unknown pid", 1<<22 + 1, nil}, // above PID_MAX_LIMIT: never a real PID
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := descendants(procContext(root), real(tt.pid))
			if err != nil {
				t.Fatalf("descendants(%d): %v", tt.pid, err)
			}
			var gotPIDs []int32
			for _, p := range got {
				f, ok := toFixture[p.PID]
				if !ok {
					t.Errorf("descendants(%d) returned PID %d, which is not in the fixture", tt.pid, p.PID)
					continue
				}
				gotPIDs = append(gotPIDs, f)
				if want := fixtureCommands[f]; p.Command != want {
					t.Errorf("fixture PID %d: command %q, want %q", f, p.Command, want)
				}
			}
			slices.Sort(gotPIDs)
			if !slices.Equal(gotPIDs, tt.want) {
				t.Errorf("descendants(%d) = fixture PIDs %v, want %v", tt.pid, gotPIDs, tt.want)
			}
		})
	}
}

func TestDescendants_MissingRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "no-proc-here")
	got, err := descendants(procContext(root), 1)
	if err == nil {
		t.Fatalf("descendants under missing %s = %v, want an error", root, got)
	}
	if !strings.Contains(err.Error(), "list processes") {
		t.Errorf("error %q does not say what failed", err)
	}
}

// TestDescendants_RealProc walks the real /proc: the test process's own
// helpers must show up with their command lines.
func TestDescendants_RealProc(t *testing.T) {
	helpers := startBlockers(t, 2)
	got, err := descendants(procContext(""), int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	want := os.Args[0] + " " + blockerArg
	for _, pid := range helpers {
		i := slices.IndexFunc(got, func(p proc) bool { return p.PID == pid })
		if i < 0 {
			t.Errorf("helper %d missing from descendants %v", pid, got)
			continue
		}
		if got[i].Command != want {
			t.Errorf("helper %d: command %q, want %q", pid, got[i].Command, want)
		}
	}
}

func TestProcContext(t *testing.T) {
	if v := procContext("").Value(common.EnvKey); v != nil {
		t.Errorf("procContext(\"\") carries %v, want nothing (so /proc is read)", v)
	}
	env, ok := procContext("/host/proc").Value(common.EnvKey).(common.EnvMap)
	if !ok {
		t.Fatalf("procContext(root) carries no common.EnvMap")
	}
	if got := env[common.HostProcEnvKey]; got != "/host/proc" {
		t.Errorf("HOST_PROC = %q, want /host/proc", got)
	}
}

// blockerArg marks the helpers' command lines.
const blockerArg = "crinit-test-blocker"

// startBlockers starts n copies of the test binary that live until the test
// ends, and returns their PIDs.
func startBlockers(t *testing.T, n int) []int32 {
	t.Helper()
	pids := make([]int32, 0, n)
	for range n {
		cmd := exec.Command(os.Args[0], blockerArg)
		cmd.Env = append(os.Environ(), helperEnv+"=block", "GORACE=atexit_sleep_ms=0")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("helper %d: %v", cmd.Process.Pid, err)
			}
		})
		pids = append(pids, int32(cmd.Process.Pid))
	}
	return pids
}

// exitedPID returns the PID of a helper that has exited and been reaped.
func exitedPID(t *testing.T) int32 {
	t.Helper()
	cmd := exec.Command(os.Args[0], blockerArg)
	cmd.Env = append(os.Environ(), helperEnv+"=block", "GORACE=atexit_sleep_ms=0")
	if err := cmd.Run(); err != nil { // stdin is /dev/null: it exits at once
		t.Fatal(err)
	}
	return int32(cmd.Process.Pid)
}

// fakeProc copies testdata/proc into a temporary directory, renaming PID
// directories and rewriting the PIDs inside stat and status by toReal.
func fakeProc(t *testing.T, toReal map[int32]int32) string {
	t.Helper()
	src := filepath.Join("testdata", "proc")
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	mapPID := func(s string) string {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return s
		}
		if r, ok := toReal[int32(n)]; ok {
			return strconv.Itoa(int(r))
		}
		return s
	}
	for _, e := range entries {
		if !e.IsDir() {
			copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), nil)
			continue
		}
		dir := filepath.Join(dst, mapPID(e.Name()))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files, err := os.ReadDir(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			var rewrite func(string) (string, error)
			switch f.Name() {
			case "stat":
				rewrite = func(s string) (string, error) { return rewriteStat(s, mapPID) }
			case "status":
				rewrite = func(s string) (string, error) { return rewriteStatus(s, mapPID), nil }
			}
			copyFile(t, filepath.Join(src, e.Name(), f.Name()), filepath.Join(dir, f.Name()), rewrite)
		}
	}
	return dst
}

func copyFile(t *testing.T, from, to string, rewrite func(string) (string, error)) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if rewrite != nil {
		s, err := rewrite(string(b))
		if err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		b = []byte(s)
	}
	if err := os.WriteFile(to, b, 0o444); err != nil {
		t.Fatal(err)
	}
}

// rewriteStat maps pid, ppid, pgrp and session in a /proc/PID/stat line; the
// command name in parentheses may itself hold spaces and parentheses.
func rewriteStat(s string, mapPID func(string) string) (string, error) {
	end := strings.LastIndexByte(s, ')')
	pid, comm, ok := strings.Cut(s[:end+1], " ")
	if end < 0 || !ok {
		return "", fmt.Errorf("malformed stat %q", s)
	}
	rest := strings.Fields(s[end+1:])
	if len(rest) < 4 {
		return "", fmt.Errorf("short stat %q", s)
	}
	for i := 1; i <= 3; i++ { // rest[0] is the state
		rest[i] = mapPID(rest[i])
	}
	return mapPID(pid) + " " + comm + " " + strings.Join(rest, " ") + "\n", nil
}

// rewriteStatus maps the PID fields of a /proc/PID/status file.
func rewriteStatus(s string, mapPID func(string) string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		key, val, ok := strings.Cut(l, ":\t")
		if !ok {
			continue
		}
		switch key {
		case "Tgid", "Pid", "PPid", "NStgid", "NSpid", "NSpgid", "NSsid":
			lines[i] = key + ":\t" + mapPID(val)
		}
	}
	return strings.Join(lines, "\n")
}
