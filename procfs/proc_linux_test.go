package procfs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNewFS(t *testing.T) {
	if got := NewFS("").Root(); got != "/proc" {
		t.Errorf(`NewFS("").Root() = %q, want /proc`, got)
	}
	if got := NewFS("/host/proc").Root(); got != "/host/proc" {
		t.Errorf(`NewFS("/host/proc").Root() = %q`, got)
	}
}

func TestStat(t *testing.T) {
	tests := []struct {
		name    string
		pid     int
		state   byte
		ppid    int
		wantErr bool
	}{
		{"crinit", 1, 'S', 0, false},
		{"comm with parentheses", 11, 'S', 10, false},
		{"zombie", 12, 'Z', 10, false},
		{"running", 13, 'R', 11, false},
		{"empty directory", 15, 0, 0, true},
		{"gone", 16, 0, 0, true},
	}
	fs := NewFS(withChildren)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, err := fs.State(tt.pid)
			if (err != nil) != tt.wantErr || state != tt.state {
				t.Errorf("State(%d) = %q, %v; want %q, error %v", tt.pid, state, err, tt.state, tt.wantErr)
			}
			ppid, err := fs.PPID(tt.pid)
			if (err != nil) != tt.wantErr || ppid != tt.ppid {
				t.Errorf("PPID(%d) = %d, %v; want %d, error %v", tt.pid, ppid, err, tt.ppid, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), filepath.Join(withChildren, "")) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestStat_Malformed(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "3", "stat"), "3 (x\n")
	if st, err := NewFS(root).State(3); err == nil || !strings.Contains(err.Error(), "3/stat") {
		t.Errorf("State of a malformed stat = %q, %v; want an error naming the file", st, err)
	}
}

func TestStatm(t *testing.T) {
	tests := []struct {
		name    string
		pid     int
		want    Statm
		wantErr bool
	}{
		{"node", 10, Statm{Size: 90000, Resident: 5000, Shared: 1000}, false},
		{"zombie", 12, Statm{}, false},
		{"malformed", 11, Statm{}, true},
		{"missing", 13, Statm{}, true},
	}
	fs := NewFS(withChildren)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fs.Statm(tt.pid)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("Statm(%d) = %+v, %v; want %+v, error %v", tt.pid, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestFDCountAndNofileLimit(t *testing.T) {
	tests := []struct {
		name   string
		pid    int
		fds    int
		nofile uint64
	}{
		{"node", 10, 5, 1024},
		{"unlimited, no fd directory", 11, -1, 0},
		{"no Max open files line", 13, -1, 0},
		{"gone", 16, -1, 0},
	}
	fs := NewFS(withChildren)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fs.FDCount(tt.pid); got != tt.fds {
				t.Errorf("FDCount(%d) = %d, want %d", tt.pid, got, tt.fds)
			}
			if got := fs.NofileLimit(tt.pid); got != tt.nofile {
				t.Errorf("NofileLimit(%d) = %d, want %d", tt.pid, got, tt.nofile)
			}
		})
	}
}

func TestCommand(t *testing.T) {
	tests := []struct {
		name    string
		pid     int
		cmdline []string
		comm    string
		command string
		wantErr bool
	}{
		{"node", 10, []string{"node", "--max-old-space-size=256", "server.js"}, "node", "node --max-old-space-size=256 server.js", false},
		{"comm with parentheses", 11, []string{"node", "worker.js", "--queue", "jobs"}, "node (worker)", "node worker.js --queue jobs", false},
		{"empty cmdline: the comm stands in", 13, nil, "esbuild", "esbuild", false},
		{"zombie", 12, nil, "sh", "sh", false},
		{"stat only", 14, nil, "", "", true},
		{"gone", 16, nil, "", "", true},
	}
	fs := NewFS(withChildren)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, err := fs.Cmdline(tt.pid)
			if (err != nil) != tt.wantErr || !slices.Equal(args, tt.cmdline) {
				t.Errorf("Cmdline(%d) = %q, %v; want %q, error %v", tt.pid, args, err, tt.cmdline, tt.wantErr)
			}
			comm, err := fs.Comm(tt.pid)
			if (err != nil) != tt.wantErr || comm != tt.comm {
				t.Errorf("Comm(%d) = %q, %v; want %q, error %v", tt.pid, comm, err, tt.comm, tt.wantErr)
			}
			if got := fs.Command(tt.pid); got != tt.command {
				t.Errorf("Command(%d) = %q, want %q", tt.pid, got, tt.command)
			}
		})
	}
}

func TestEnviron(t *testing.T) {
	tests := []struct {
		name    string
		pid     int
		want    []string
		wantErr bool
	}{
		{"node", 10, []string{"PATH=/usr/local/bin:/usr/bin", "NODE_OPTIONS=--max-old-space-size=256", "HOME=/home/node"}, false},
		{"empty", 11, nil, false},
		{"missing", 13, nil, true},
	}
	fs := NewFS(withChildren)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fs.Environ(tt.pid)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("Environ(%d) = %q, %v; want %q, error %v", tt.pid, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestOOMScoreAdj(t *testing.T) {
	fs := NewFS(withChildren)
	if got, err := fs.OOMScoreAdj(10); got != 500 || err != nil {
		t.Errorf("OOMScoreAdj(10) = %d, %v; want 500", got, err)
	}
	if got, err := fs.OOMScoreAdj(11); err == nil || !strings.Contains(err.Error(), "pid 11") {
		t.Errorf("OOMScoreAdj(11) of %q = %d, %v; want a parse error naming the pid", "high", got, err)
	}
	if _, err := fs.OOMScoreAdj(16); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OOMScoreAdj(16) of a gone process: error %v, want ErrNotExist", err)
	}
}

func TestSetOOMScoreAdj(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "10", "oom_score_adj"), "0\n")
	if err := os.Mkdir(filepath.Join(root, "11"), 0o755); err != nil {
		t.Fatal(err)
	}
	fs := NewFS(root)
	if err := fs.SetOOMScoreAdj(10, 900); err != nil {
		t.Fatal(err)
	}
	if got, err := fs.OOMScoreAdj(10); got != 900 || err != nil {
		t.Errorf("OOMScoreAdj after SetOOMScoreAdj(10, 900) = %d, %v", got, err)
	}
	// A process gone leaves no file behind to write.
	if err := fs.SetOOMScoreAdj(11, 900); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SetOOMScoreAdj(11) without the file: error %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Join(root, "11", "oom_score_adj")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SetOOMScoreAdj created the file: %v", err)
	}
	// Writing fails when the kernel rejects the value.
	if err := NewFS("").SetOOMScoreAdj(os.Getpid(), 5000); err == nil {
		t.Error("SetOOMScoreAdj(self, 5000) succeeded, want EINVAL")
	}
}

// TestReaders_RealProc reads the test process and a helper from the real
// /proc.
func TestReaders_RealProc(t *testing.T) {
	self := os.Getpid()
	helper := startBlockers(t, 1)[0]
	fs := NewFS("")
	// The state is the main thread's, which may sleep while another
	// thread of the test binary reads.
	if st, err := fs.State(self); err != nil || !strings.ContainsRune("RS", rune(st)) {
		t.Errorf("State(self) = %q, %v; want running or sleeping", st, err)
	}
	if st, err := fs.State(helper); err != nil || !strings.ContainsRune("RSD", rune(st)) {
		t.Errorf("State(helper) = %q, %v; want running or sleeping", st, err)
	}
	if ppid, err := fs.PPID(helper); err != nil || ppid != self {
		t.Errorf("PPID(helper) = %d, %v; want %d", ppid, err, self)
	}
	if m, err := fs.Statm(self); err != nil || m.Resident == 0 || m.Size < m.Resident {
		t.Errorf("Statm(self) = %+v, %v", m, err)
	}
	if n := fs.FDCount(self); n < 3 {
		t.Errorf("FDCount(self) = %d, want at least stdin, stdout and stderr", n)
	}
	if n := fs.NofileLimit(helper); n == 0 {
		t.Errorf("NofileLimit(helper) = 0, want its RLIMIT_NOFILE")
	}
	if args, err := fs.Cmdline(self); err != nil || !slices.Equal(args, os.Args) {
		t.Errorf("Cmdline(self) = %q, %v; want %q", args, err, os.Args)
	}
	if comm, err := fs.Comm(self); err != nil || !strings.HasPrefix(filepath.Base(os.Args[0]), comm) {
		t.Errorf("Comm(self) = %q, %v; want a prefix of %q", comm, err, filepath.Base(os.Args[0]))
	}
	if env, err := fs.Environ(helper); err != nil || !slices.Contains(env, helperEnv+"=block") {
		t.Errorf("Environ(helper) = %q, %v; want %s=block in it", env, err, helperEnv)
	}
	adj, err := fs.OOMScoreAdj(helper)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.SetOOMScoreAdj(helper, adj+1); err != nil { // raising needs no privilege
		t.Fatal(err)
	}
	if got, err := fs.OOMScoreAdj(helper); err != nil || got != adj+1 {
		t.Errorf("OOMScoreAdj(helper) after raising it = %d, %v; want %d", got, err, adj+1)
	}
}

// TestFDCount_RealProc counts a blocked helper's descriptors both ways: by
// the fd directory's size (a real procfs on Linux 6.2 and later) and by
// its entries; both agree with a listing.
func TestFDCount_RealProc(t *testing.T) {
	helper := startBlockers(t, 1)[0]
	entries, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(helper), "fd"))
	if err != nil {
		t.Fatal(err)
	}
	bySize, byEntries := NewFS(""), NewFS("")
	byEntries.isProc, byEntries.isProcKnown = false, true
	if n, m := bySize.FDCount(helper), byEntries.FDCount(helper); n != len(entries) || m != len(entries) {
		t.Errorf("FDCount(helper) = %d by size, %d by entries; want %d", n, m, len(entries))
	}
	if !bySize.isProc {
		t.Error("/proc not recognised as a procfs")
	}
}

// TestLastPID_RealProc: a process started moves the namespace's last PID
// to its own or beyond.
func TestLastPID_RealProc(t *testing.T) {
	fs := NewFS("")
	before, err := fs.LastPID()
	if err != nil {
		t.Fatal(err)
	}
	helper := startBlockers(t, 1)[0]
	after, err := fs.LastPID()
	if err != nil {
		t.Fatal(err)
	}
	// PIDs wrap at pid_max: then the new one is below the old.
	if after == before || (after < helper && after > before) {
		t.Errorf("LastPID = %d before and %d after starting PID %d", before, after, helper)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFS_Fate reads real processes: this one is neither a zombie nor
// dying; a child that exited and is not yet reaped is a zombie; a PID
// that does not exist is neither.
func TestFS_Fate(t *testing.T) {
	fs := NewFS("")
	if f := fs.Fate(os.Getpid()); f.Zombie || f.Dying {
		t.Errorf("Fate(self) = %+v, want neither", f)
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	// Wait for the exit without reaping it: the child stays a zombie.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatalf("waitid: %v", err)
	}
	if f := fs.Fate(cmd.Process.Pid); !f.Zombie || !f.Dying {
		t.Fatalf("Fate(exited child) = %+v, want a dying zombie", f)
	}
	if f := fs.Fate(1 << 30); f.Zombie || f.Dying {
		t.Errorf("Fate(no such pid) = %+v, want neither", f)
	}
}
