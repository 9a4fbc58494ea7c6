package limits

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const (
	nofileEnv = "CRINIT_LIMITS_TEST_NOFILE"
	// dropEnv asks the helper to give up root before SetNofile: setuid from
	// 0 to another user clears CAP_SYS_RESOURCE (capabilities(7)), so the
	// refusal can be tested when the tests run as root, as in CI.
	dropEnv = "CRINIT_LIMITS_TEST_DROP_TO_UID"
)

func init() {
	helpers["setnofile"] = setNofileHelper
}

// nofileResult is what setNofileHelper reports.
type nofileResult struct {
	Before syscall.Rlimit // what SetNofile returned as the old limit
	After  syscall.Rlimit // the helper's own limit after SetNofile
	Err    string
	EPERM  bool
	// ChildSoft and ChildHard are `ulimit -Sn` and `ulimit -Hn` in a child
	// started after SetNofile.
	ChildSoft, ChildHard string
	ProcLim              string // the child's "Max open files" line of /proc/PID/limits
}

// setNofileHelper runs SetNofile in a throwaway process, then starts a child
// with os/exec to see which limit a child really inherits (golang/go#66797).
func setNofileHelper() int {
	n, err := strconv.ParseUint(os.Getenv(nofileEnv), 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if uid := os.Getenv(dropEnv); uid != "" {
		id, err := strconv.Atoi(uid)
		if err == nil {
			err = dropRoot(id)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "drop root:", err)
			return 3
		}
	}
	var r nofileResult
	r.Before, err = SetNofile(n)
	if err != nil {
		r.Err, r.EPERM = err.Error(), errors.Is(err, syscall.EPERM)
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r.After); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	out, err := exec.Command("sh", "-c", `ulimit -Sn; ulimit -Hn; grep "^Max open files" /proc/$$/limits`).Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	lines := strings.SplitN(strings.TrimSpace(string(out)), "\n", 3)
	if len(lines) != 3 {
		fmt.Fprintf(os.Stderr, "child output %q\n", out)
		return 2
	}
	r.ChildSoft, r.ChildHard, r.ProcLim = lines[0], lines[1], lines[2]
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// dropRoot switches every thread to uid and gid id, with no supplementary
// groups.
func dropRoot(id int) error {
	if err := syscall.Setgroups(nil); err != nil {
		return err
	}
	if err := syscall.Setgid(id); err != nil {
		return err
	}
	return syscall.Setuid(id)
}

// runSetNofile re-executes the test binary to call SetNofile(n), as user
// dropTo unless it is negative.
func runSetNofile(t *testing.T, n uint64, dropTo int) nofileResult {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(),
		helperEnv+"=setnofile",
		nofileEnv+"="+strconv.FormatUint(n, 10),
		"GORACE=atexit_sleep_ms=0", // a -race helper otherwise lingers 1s at exit
	)
	if dropTo >= 0 {
		cmd.Env = append(cmd.Env, dropEnv+"="+strconv.Itoa(dropTo))
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v; stderr: %s", err, stderr.String())
	}
	var r nofileResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("helper output %q: %v", out, err)
	}
	return r
}

func TestSetNofile(t *testing.T) {
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err != nil {
		t.Fatal(err)
	}
	hard := cur.Max

	applied := func(t *testing.T, n uint64) {
		r := runSetNofile(t, n, -1)
		if r.Err != "" {
			t.Fatalf("SetNofile(%d): %s", n, r.Err)
		}
		if r.Before.Max != hard {
			t.Errorf("before.Max = %d, want the inherited hard limit %d", r.Before.Max, hard)
		}
		if want := (syscall.Rlimit{Cur: n, Max: n}); r.After != want {
			t.Errorf("own limit after = %+v, want %+v", r.After, want)
		}
		if want := strconv.FormatUint(n, 10); r.ChildSoft != want || r.ChildHard != want {
			t.Errorf("child's ulimit -Sn, -Hn = %s, %s, want %s for both", r.ChildSoft, r.ChildHard, want)
		}
		f := strings.Fields(r.ProcLim)
		if len(f) != 6 || f[3] != strconv.FormatUint(n, 10) || f[4] != strconv.FormatUint(n, 10) {
			t.Errorf("child's /proc/PID/limits line = %q, want soft and hard %d", r.ProcLim, n)
		}
	}

	t.Run("below hard limit", func(t *testing.T) {
		n := uint64(777)
		if hard <= n {
			n = hard / 2
		}
		if n == 0 {
			t.Skipf("hard limit %d too low to lower", hard)
		}
		applied(t, n)
	})

	t.Run("at hard limit", func(t *testing.T) {
		applied(t, hard)
	})

	refused := func(t *testing.T, n uint64, dropTo int) {
		r := runSetNofile(t, n, dropTo)
		if r.Err == "" {
			t.Fatalf("SetNofile(%d) above the hard limit %d succeeded, want an error", n, hard)
		}
		if !r.EPERM {
			t.Errorf("error %q does not wrap EPERM", r.Err)
		}
		for _, want := range []string{"CAP_SYS_RESOURCE", "fs.nr_open", strconv.FormatUint(hard, 10), strconv.FormatUint(n, 10)} {
			if !strings.Contains(r.Err, want) {
				t.Errorf("error %q does not mention %q", r.Err, want)
			}
		}
		if r.After != r.Before {
			t.Errorf("limit changed by a refused SetNofile: before %+v, after %+v", r.Before, r.After)
		}
		// The child's soft limit is the one the helper inherited, which Go
		// restores on exec when no syscall.Setrlimit succeeded; only the
		// hard limit is known here.
		if want := strconv.FormatUint(r.Before.Max, 10); r.ChildHard != want {
			t.Errorf("child's ulimit -Hn = %s, want the unchanged %s", r.ChildHard, want)
		}
	}

	t.Run("above hard limit as non-root", func(t *testing.T) {
		dropTo := -1
		if os.Geteuid() == 0 {
			dropTo = 65534 // nobody: root may raise the hard limit
		}
		refused(t, hard+1, dropTo)
	})

	t.Run("above fs.nr_open", func(t *testing.T) {
		b, err := os.ReadFile("/proc/sys/fs/nr_open")
		if err != nil {
			t.Fatal(err)
		}
		nrOpen, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			t.Fatalf("fs.nr_open %q: %v", b, err)
		}
		refused(t, nrOpen+1, -1) // refused even with CAP_SYS_RESOURCE
	})
}
