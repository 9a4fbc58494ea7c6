package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitLong bounds every wait for an event; a test that reaches it fails.
const waitLong = 30 * time.Second

// require fails the test under CI=true and skips it elsewhere when the
// machine lacks what the test needs.
func require(t *testing.T, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is missing", what)
	}
	t.Skipf("skipped: %s is missing (set CI=true to make this a failure)", what)
}

// requireNamespace checks for what PID-namespace tests need.
func requireNamespace(t *testing.T) {
	t.Helper()
	require(t, "root", os.Geteuid() == 0)
	_, err := exec.LookPath("unshare")
	require(t, "unshare", err == nil)
}

// requireNode checks for node on PATH.
func requireNode(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("node")
	require(t, "node", err == nil)
}

// event is one JSON log line of crinit's.
type event map[string]any

func (e event) msg() string { s, _ := e["@message"].(string); return s }

// num reads a numeric key; JSON numbers decode as float64.
func (e event) num(key string) int {
	f, _ := e[key].(float64)
	return int(f)
}

func (e event) str(key string) string { s, _ := e[key].(string); return s }

// crinit is one running crinit process whose stdout is read line by line.
type crinit struct {
	t      *testing.T
	cmd    *exec.Cmd
	ns     bool
	stdin  io.WriteCloser
	stderr bytes.Buffer

	mu    sync.Mutex
	lines []string
	next  int           // first line not yet consumed by a wait
	more  chan struct{} // signalled when a line arrives or output ends
	eof   bool
	done  chan struct{} // closed when the process has been waited for
	code  int
}

// options for startCrinit.
type runOpts struct {
	ns  bool     // run as PID 1 of a new PID namespace
	tty bool     // run on a new pseudo-terminal, as under docker run -it
	env []string // added to the test's environment
	// cgroup is a memory cgroup directory (see memoryCgroup) to run in.
	cgroup string
	// argv, when set, is run instead of crinit (args are then ignored):
	// an OCI runtime that starts crinit from a bundle, say.
	argv []string
}

// startCrinit runs crinit with args; with o.ns it is PID 1 of a new PID
// namespace. The process is killed when the test ends.
func startCrinit(t *testing.T, o runOpts, args ...string) *crinit {
	t.Helper()
	argv := append([]string{crinitBin}, args...)
	if o.argv != nil {
		argv = o.argv
	}
	if o.ns {
		requireNamespace(t)
		argv = append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}, argv...)
	}
	if o.cgroup != "" {
		// Join the cgroup, then become unshare: crinit and all it starts
		// are charged to it from the first byte.
		argv = append([]string{"sh", "-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, o.cgroup}, argv...)
	}
	if o.tty {
		_, err := exec.LookPath("script")
		require(t, "script (util-linux)", err == nil)
		quoted := make([]string, len(argv))
		for i, a := range argv {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		argv = []string{"script", "--quiet", "--return", "--flush", "--echo", "never",
			"--command", strings.Join(quoted, " "), "/dev/null"}
	}
	c := &crinit{t: t, ns: o.ns, more: make(chan struct{}, 1), done: make(chan struct{})}
	c.cmd = exec.Command(argv[0], argv[1:]...)
	c.cmd.Env = append(os.Environ(), o.env...)
	c.cmd.Stderr = &c.stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatalf("stdin pipe: %v", err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, strings.TrimSuffix(sc.Text(), "\r")) // a terminal ends lines in CRLF
			c.mu.Unlock()
			c.poke()
		}
		c.mu.Lock()
		c.eof = true
		c.mu.Unlock()
		c.poke()
		err := c.cmd.Wait()
		c.code = exitCode(err)
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			c.dump()
		}
	})
	return c
}

func (c *crinit) poke() {
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// dump logs everything crinit and its child printed.
func (c *crinit) dump() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t.Logf("crinit stdout (%d lines):\n%s", len(c.lines), strings.Join(c.lines, "\n"))
	c.t.Logf("crinit stderr:\n%s", c.stderr.String())
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// waitLine consumes output until a line satisfies match and returns it.
// Lines before it are consumed too; the test fails on timeout or EOF.
func (c *crinit) waitLine(what string, match func(string) bool) string {
	c.t.Helper()
	return c.await(what, func() (string, bool) {
		for c.next < len(c.lines) {
			l := c.lines[c.next]
			c.next++
			if match(l) {
				return l, true
			}
		}
		return "", false
	})
}

// await calls look, under the lock, each time output arrives, until it
// finds what it wants; the test fails on timeout or EOF.
func (c *crinit) await(what string, look func() (string, bool)) string {
	c.t.Helper()
	deadline := time.NewTimer(waitLong)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		l, ok := look()
		eof := c.eof
		c.mu.Unlock()
		if ok {
			return l
		}
		if eof {
			c.t.Fatalf("output ended before %s", what)
		}
		select {
		case <-c.more:
		case <-deadline.C:
			c.t.Fatalf("no %s within %v", what, waitLong)
		}
	}
}

// waitEvent consumes output until crinit logs msg and returns the event.
func (c *crinit) waitEvent(msg string) event {
	c.t.Helper()
	var e event
	c.waitLine("event "+strconv.Quote(msg), func(l string) bool {
		e = parseEvent(l)
		return e != nil && e.msg() == msg
	})
	return e
}

// waitPrefix consumes output until a line starts with prefix.
func (c *crinit) waitPrefix(prefix string) string {
	c.t.Helper()
	return c.waitLine("line "+strconv.Quote(prefix), func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// firstPrefix waits for a line starting with prefix and returns the first
// one printed, searching all output, consumed or not, and leaving the
// cursor where it is.
func (c *crinit) firstPrefix(prefix string) string {
	c.t.Helper()
	return c.await("line "+strconv.Quote(prefix), func() (string, bool) {
		for _, l := range c.lines {
			if strings.HasPrefix(l, prefix) {
				return l, true
			}
		}
		return "", false
	})
}

// parseEvent decodes a crinit log line, or returns nil for child output.
func parseEvent(l string) event {
	if !strings.HasPrefix(l, "{") {
		return nil
	}
	var e event
	if json.Unmarshal([]byte(l), &e) != nil || e["@message"] == nil {
		return nil
	}
	return e
}

// events returns every crinit event logged so far with message msg.
func (c *crinit) events(msg string) []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []event
	for _, l := range c.lines {
		if e := parseEvent(l); e != nil && e.msg() == msg {
			out = append(out, e)
		}
	}
	return out
}

// wait returns crinit's exit code (the namespace's, which unshare passes
// on), failing the test if it does not exit in time.
func (c *crinit) wait() int {
	c.t.Helper()
	select {
	case <-c.done:
		return c.code
	case <-time.After(waitLong):
		c.t.Fatalf("crinit did not exit within %v", waitLong)
		return -1
	}
}

// pid is crinit's PID as this test sees it: unshare's only child in a
// namespace run, the process itself otherwise.
func (c *crinit) pid() int {
	c.t.Helper()
	if !c.ns {
		return c.cmd.Process.Pid
	}
	p := c.cmd.Process.Pid
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/task/" + strconv.Itoa(p) + "/children")
	if err != nil {
		c.t.Fatalf("read unshare's children: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		c.t.Fatalf("unshare has children %q, want exactly crinit", f)
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// threads is how many threads crinit runs now (/proc/PID/status).
func (c *crinit) threads() int {
	c.t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(c.pid()) + "/status")
	if err != nil {
		c.t.Fatalf("read crinit's status: %v", err)
	}
	_, v, _ := strings.Cut(string(b), "Threads:")
	n, err := strconv.Atoi(strings.Fields(v + " x")[0])
	if err != nil {
		c.t.Fatalf("no thread count in crinit's status: %v", err)
	}
	return n
}

// signal sends sig to crinit itself.
func (c *crinit) signal(sig syscall.Signal) {
	c.t.Helper()
	if err := syscall.Kill(c.pid(), sig); err != nil {
		c.t.Fatalf("kill %v: %v", sig, err)
	}
}

// helperCmd is the argv that runs this test binary as a helper child.
func helperCmd(t *testing.T, mode string, args ...string) []string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("own executable: %v", err)
	}
	return append([]string{"env", helperEnv + "=" + mode, self}, args...)
}
