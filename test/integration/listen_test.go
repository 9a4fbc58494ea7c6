package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// listenApp is a node app of testdata/listen: each answers a GET with its
// own pid.
func listenApp(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "listen", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// listenArgs are the flags every --listen test passes: the endpoint on a
// free port, so that tests and other crinits on the machine do not meet.
func listenArgs(addr string, more ...string) []string {
	return append([]string{"--health-addr", "127.0.0.1:0", "--listen", addr}, more...)
}

// trafficClients is how many requests the load generator keeps in flight.
const trafficClients = 8

// The ways a request of the load generator fails.
const (
	failRefused = "refused" // ECONNREFUSED: nothing listened
	failReset   = "reset"   // ECONNRESET, EPIPE or EOF: a connection dropped
	failTimeout = "timeout" // no answer within the client's timeout
	failStatus  = "status"  // an answer other than 200
	failOther   = "other"
)

// traffic sends GET requests from trafficClients goroutines, each on a fresh
// connection, until stopped, and counts what came back: the pid each
// answer names (the apps of testdata/listen answer with theirs) and the
// failures by class.
type traffic struct {
	quit chan struct{}
	wg   sync.WaitGroup
	more chan struct{} // signalled when a pid is seen for the first time

	mu      sync.Mutex
	ok      int
	fails   map[string]int
	first   map[string]string // the first error of each class
	pids    map[int]int       // answers per pid
	stopped bool
}

// startTraffic starts the load on url; dial, when not nil, makes each
// connection (a unix socket, say). The load ends with the test at the
// latest.
func startTraffic(t *testing.T, url string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *traffic {
	t.Helper()
	l := &traffic{quit: make(chan struct{}), more: make(chan struct{}, 1),
		fails: map[string]int{}, first: map[string]string{}, pids: map[int]int{}}
	for range trafficClients {
		tr := &http.Transport{DisableKeepAlives: true, DialContext: dial}
		client := &http.Client{Timeout: 2 * time.Second, Transport: tr}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer tr.CloseIdleConnections()
			for {
				select {
				case <-l.quit:
					return
				default:
				}
				l.one(client, url)
			}
		}()
	}
	t.Cleanup(l.stop)
	return l
}

// one sends a request and records its outcome.
func (l *traffic) one(client *http.Client, url string) {
	resp, err := client.Get(url)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		l.fail(classify(err), err.Error())
	case resp.StatusCode != http.StatusOK:
		l.fail(failStatus, fmt.Sprintf("%s: %q", resp.Status, body))
	default:
		pid, perr := strconv.Atoi(string(body))
		if perr != nil {
			l.fail(failOther, fmt.Sprintf("body %q is no pid", body))
			return
		}
		l.ok++
		l.pids[pid]++
		if l.pids[pid] == 1 {
			select {
			case l.more <- struct{}{}:
			default:
			}
		}
	}
}

// fail counts a failure; l.mu is held.
func (l *traffic) fail(class, detail string) {
	l.fails[class]++
	if _, ok := l.first[class]; !ok {
		l.first[class] = detail
	}
}

// classify names the class of a failed request.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return failRefused
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return failTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return failReset
	}
	return failOther
}

// waitPids waits until answers have come from n different pids.
func (l *traffic) waitPids(t *testing.T, n int) {
	t.Helper()
	deadline := time.NewTimer(waitLong)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		seen := len(l.pids)
		l.mu.Unlock()
		if seen >= n {
			return
		}
		select {
		case <-l.more:
		case <-deadline.C:
			t.Fatalf("answers from %d pids within %v, want %d", seen, waitLong, n)
		}
	}
}

// stop ends the load once the requests in flight are done.
func (l *traffic) stop() {
	l.mu.Lock()
	stopped := l.stopped
	l.stopped = true
	l.mu.Unlock()
	if !stopped {
		close(l.quit)
	}
	l.wg.Wait()
}

// failed is the number of failures of the classes given, of all when none
// is.
func (l *traffic) failed(classes ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for c, k := range l.fails {
		if len(classes) == 0 || slices.Contains(classes, c) {
			n += k
		}
	}
	return n
}

// pidCount is how many different pids answered.
func (l *traffic) pidCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pids)
}

// String sums the load up for a log line.
func (l *traffic) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%d answered by %d pids", l.ok, len(l.pids))
	for _, pid := range slices.Sorted(maps.Keys(l.pids)) {
		fmt.Fprintf(&b, " %d:%d", pid, l.pids[pid])
	}
	fmt.Fprintf(&b, "; failed:")
	for _, c := range []string{failRefused, failReset, failTimeout, failStatus, failOther} {
		fmt.Fprintf(&b, " %s %d", c, l.fails[c])
	}
	for _, c := range slices.Sorted(maps.Keys(l.first)) {
		fmt.Fprintf(&b, "\n  first %s: %s", c, l.first[c])
	}
	return b.String()
}

// earlyStops counts the overlapped restarts whose old child was stopped
// before its successor was ready: each "overlap started" should be
// followed by the next generation's "child ready", then the old one's
// "stopping child".
func earlyStops(c *crinit) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var evs []event
	for _, l := range c.lines {
		if e := parseEvent(l); e != nil {
			evs = append(evs, e)
		}
	}
	n := 0
	for i, e := range evs {
		if e.msg() != "overlap started" {
			continue
		}
		old, next := e.num("pid"), e.num("generation")+1
		for _, f := range evs[i+1:] {
			if f.msg() == "child ready" && f.num("generation") == next {
				break
			}
			if f.msg() == "stopping child" && f.num("pid") == old {
				n++
				break
			}
		}
	}
	return n
}

// watchReady asks crinit's /readyz at addr every 20 ms until the returned
// function is called, which says how often it answered 200 and otherwise.
func watchReady(t *testing.T, addr string) func() (ok, not int) {
	t.Helper()
	done, counts := make(chan struct{}), make(chan [2]int, 1)
	go func() {
		var n [2]int
		client := &http.Client{Timeout: 2 * time.Second}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				counts <- n
				return
			case <-tick.C:
			}
			resp, err := client.Get("http://" + addr + "/readyz")
			if err == nil && resp.StatusCode == http.StatusOK {
				n[0]++
			} else {
				n[1]++
			}
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	return func() (int, int) {
		close(done)
		n := <-counts
		return n[0], n[1]
	}
}

// A leaking service restarted for rss_limit, again and again under load,
// loses no request: crinit holds the socket, starts the next child before
// it stops the old one, and the old one finishes what it accepted; with
// the preload's graceful stop or with the app's own.
func TestListen_LeakRestartsLoseNothing(t *testing.T) {
	requireNode(t)
	for _, tc := range []struct{ name, app string }{
		{"unmodified app", "leak.js"},
		{"own SIGTERM handler", "leak-sigterm.js"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cg := memoryCgroup(t, container)
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			c := startCrinit(t, runOpts{ns: true, cgroup: cg, env: []string{"PORT=" + strconv.Itoa(port)}},
				listenArgs("tcp://"+addr, "--rss-limit", "120MiB", "--rss-interval", "250ms", "--rss-grace", "1",
					"--", "node", listenApp(t, tc.app))...)
			c.waitEvent("child ready")
			ep := c.events("endpoint listening") // logged before any child starts
			if len(ep) != 1 {
				t.Fatalf("endpoint listening events %v, want one", ep)
			}
			ready := watchReady(t, ep[0].str("addr"))
			l := startTraffic(t, "http://"+addr+"/", nil)
			for range 3 {
				if e := c.waitEvent("old child drained"); e.str("reason") != "rss_limit" || e.num("exit_code") != 0 {
					t.Errorf("old child drained %v, want reason rss_limit, exit_code 0", e)
				}
			}
			l.waitPids(t, 4)
			l.stop()
			t.Logf("load: %v", l)
			if ok, not := ready(); not != 0 || ok == 0 {
				t.Errorf("/readyz answered 200 %d times and otherwise %d times, want 200 throughout", ok, not)
			}

			if n := l.failed(); n != 0 {
				t.Errorf("%d requests failed, want none", n)
			}
			if n := len(c.events("overlap started")); n < 3 {
				t.Errorf("%d overlapped restarts, want at least 3", n)
			}
			if n := len(c.events("overlap skipped")); n != 0 {
				t.Errorf("%d overlaps skipped in a cgroup with room for two children, want none", n)
			}
			if n := l.pidCount(); n < 4 {
				t.Errorf("answers from %d pids, want at least 4", n)
			}
			if n := oomKills(t, cg); n != 0 {
				t.Errorf("the cgroup's OOM killer acted %d times, want never", n)
			}
			// The old child serves until its successor is ready: the
			// cgroup (512 MiB) has room for both.
			if n := earlyStops(c); n != 0 {
				t.Errorf("%d of %d overlapped restarts stopped the old child before its successor was ready",
					n, len(c.events("overlap started")))
			}
		})
	}
}

// A service that crashes is restarted while its socket stays held: the
// connections that arrive meanwhile wait in the backlog for the next
// child, none is refused, none times out. Requests the dying process had
// accepted may be reset.
func TestListen_CrashRestartsRefuseNothing(t *testing.T) {
	requireNode(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := startCrinit(t, runOpts{ns: true, env: []string{"PORT=" + strconv.Itoa(port)}},
		listenArgs("tcp://"+addr, "--restart-delay", "100ms", "--", "node", listenApp(t, "crash.js"))...)
	c.waitEvent("child ready")
	l := startTraffic(t, "http://"+addr+"/", nil)
	for range 3 {
		if e := c.waitEvent("child exited"); e.num("exit_code") != 1 {
			t.Errorf("child exited %v, want exit_code 1", e)
		}
		c.waitEvent("child ready")
	}
	l.waitPids(t, 4)
	l.stop()
	t.Logf("load: %v", l)

	if n := len(c.events("child started")); n < 4 {
		t.Errorf("%d children started, want at least 4", n)
	}
	if n := l.failed(failRefused); n != 0 {
		t.Errorf("%d connections refused, want none: the socket is held", n)
	}
	if n := l.failed(failTimeout); n != 0 {
		t.Errorf("%d requests timed out, want none", n)
	}
	if n := l.failed(failStatus, failOther); n != 0 {
		t.Errorf("%d requests failed otherwise, want none", n)
	}
	t.Logf("%d requests reset by a crashing child", l.failed(failReset))
}

// Without room in the cgroup for two children crinit skips the overlap,
// says why, and stops the old child first; the socket stays held, so no
// connection is refused.
func TestListen_OverlapSkipped(t *testing.T) {
	requireNode(t)
	cg := memoryCgroup(t, 256*mib)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := startCrinit(t, runOpts{ns: true, cgroup: cg, env: []string{"PORT=" + strconv.Itoa(port)}},
		listenArgs("tcp://"+addr, "--rss-limit", "120MiB", "--rss-interval", "250ms", "--rss-grace", "1",
			"--overlap-reserve", "1GiB", "--", "node", listenApp(t, "leak.js"))...)
	c.waitEvent("child ready")
	l := startTraffic(t, "http://"+addr+"/", nil)
	for range 2 {
		e := c.waitEvent("overlap skipped")
		if e.str("cause") != "headroom" || e.num("needed_bytes") != 1<<30 || e.num("headroom_bytes") >= e.num("needed_bytes") ||
			e.num("limit_bytes") != 256*mib {
			t.Errorf("overlap skipped %v, want cause headroom, headroom_bytes < needed_bytes 1GiB, limit_bytes 256MiB", e)
		}
		c.waitEvent("child ready")
	}
	l.waitPids(t, 3)
	l.stop()
	t.Logf("load: %v", l)

	if n := l.failed(failRefused); n != 0 {
		t.Errorf("%d connections refused, want none: the socket is held", n)
	}
	if n := l.failed(); n != 0 {
		t.Errorf("%d requests failed, want none", n)
	}
	if n := len(c.events("overlap started")); n != 0 {
		t.Errorf("%d overlapped restarts, want none without room", n)
	}
	t.Logf("%d overlap skipped events for %d restarts", len(c.events("overlap skipped")), len(c.events("child started"))-1)
	if n := oomKills(t, cg); n != 0 {
		t.Errorf("the cgroup's OOM killer acted %d times, want never", n)
	}
}

// A unix socket is held as a TCP one is: the app's listen(path) serves on
// it, and it is gone once crinit has exited.
func TestListen_UnixSocket(t *testing.T) {
	requireNode(t)
	sock := filepath.Join(t.TempDir(), "app.sock")
	c := startCrinit(t, runOpts{ns: true, env: []string{"SOCK=" + sock}},
		listenArgs("unix://"+sock, "--", "node", listenApp(t, "unix.js"))...)
	held := c.waitEvent("socket held")
	if held.str("address") != "unix://"+sock || held.str("name") != "unix-"+sock {
		t.Errorf("socket held %v, want address unix://%s, name unix-%s", held, sock, sock)
	}
	ready := c.waitEvent("child ready")
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	resp, err := client.Get("http://app/")
	if err != nil {
		t.Fatalf("GET over %s: %v", sock, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != strconv.Itoa(ready.num("pid")) {
		t.Errorf("GET over %s: %s %q, want 200 from the child, pid %d", sock, resp.Status, body, ready.num("pid"))
	}

	c.signal(syscall.SIGTERM)
	if code := c.wait(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after crinit exited, %s: %v; want it gone", sock, err)
	}
}

// Any child, not only node, gets the held sockets by systemd's protocol:
// LISTEN_FDS, LISTEN_FDNAMES, and LISTEN_PID naming the child itself.
func TestListen_NonNodeSeesProtocol(t *testing.T) {
	requireNamespace(t)
	a1 := fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
	a2 := fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
	script := `echo "fds=$LISTEN_FDS pid=$LISTEN_PID self=$$ names=$LISTEN_FDNAMES"
for fd in 3 4; do [ -S /proc/self/fd/$fd ] && echo "socket$fd $(readlink /proc/self/fd/$fd)"; done
[ -p "/proc/self/fd/$CRINIT_NOTIFY_FD" ] && echo "notify pipe $CRINIT_NOTIFY_FD"
exit 0`
	c := startCrinit(t, runOpts{ns: true}, "--health-addr", "127.0.0.1:0", "--listen", a1, "--listen", a2,
		"--", "sh", "-c", script)
	var names []string
	for _, a := range []string{a1, a2} {
		e := c.waitEvent("socket held")
		if e.str("address") != a {
			t.Errorf("socket held %v, want address %s", e, a)
		}
		names = append(names, e.str("name"))
	}
	started := c.waitEvent("child started")
	pid := started.num("pid")
	want := fmt.Sprintf("fds=2 pid=%d self=%d names=%s", pid, pid, strings.Join(names, ":"))
	if got := c.waitPrefix("fds="); got != want {
		t.Errorf("the child saw %q, want %q", got, want)
	}
	for _, fd := range []string{"3", "4"} {
		if l := c.waitPrefix("socket" + fd); !strings.HasPrefix(l, "socket"+fd+" socket:[") {
			t.Errorf("fd %s: %q, want a socket", fd, l)
		}
	}
	if l := c.waitPrefix("notify pipe"); l != "notify pipe 5" {
		t.Errorf("%q, want CRINIT_NOTIFY_FD 5, a pipe, after the sockets", l)
	}
	if code := c.wait(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// An address crinit cannot hold stops it before any child starts: a port
// in use (exit 2, "socket not held") and an address that is no address
// (exit 2, one line on stderr naming the flag and its variable).
func TestListen_BindFailure(t *testing.T) {
	t.Run("port in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addr := "tcp://" + ln.Addr().String()
		c := startCrinit(t, runOpts{ns: true}, "--health-addr", "127.0.0.1:0", "--listen", addr, "--", "true")
		e := c.waitEvent("socket not held")
		if e.str("flag") != "--listen" || e.str("variable") != "CRINIT_LISTEN" || e.str("address") != addr ||
			!strings.Contains(e.str("error"), "address already in use") {
			t.Errorf("socket not held %v, want flag --listen, variable CRINIT_LISTEN, address %s, address already in use", e, addr)
		}
		if code := c.wait(); code != 2 {
			t.Errorf("exit code %d, want 2", code)
		}
		if s := c.events("child started"); len(s) != 0 {
			t.Errorf("child started %v, want none", s)
		}
	})
	t.Run("bad address", func(t *testing.T) {
		c := startCrinit(t, runOpts{ns: true}, "--listen", "tcp://127.0.0.1:99999", "--", "true")
		if code := c.wait(); code != 2 {
			t.Errorf("exit code %d, want 2", code)
		}
		stderr := strings.TrimSuffix(c.stderr.String(), "\n")
		if strings.Contains(stderr, "\n") || !strings.Contains(stderr, "--listen") || !strings.Contains(stderr, "CRINIT_LISTEN") ||
			!strings.Contains(stderr, "99999") {
			t.Errorf("stderr %q, want one line naming --listen, CRINIT_LISTEN and the port", stderr)
		}
		if s := c.events("child started"); len(s) != 0 {
			t.Errorf("child started %v, want none", s)
		}
	})
}

// An app written as Express apps are (app.listen(PORT, HOST) creating the
// server) is served through the held socket, and a reload overlaps the
// next child with it without losing a request.
func TestListen_ExpressStyle(t *testing.T) {
	requireNode(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := startCrinit(t, runOpts{ns: true, env: []string{"PORT=" + strconv.Itoa(port)}},
		listenArgs("tcp://"+addr, "--reload-signal", "SIGHUP", "--", "node", listenApp(t, "express-style.js"))...)
	first := c.waitEvent("child ready")
	l := startTraffic(t, "http://"+addr+"/", nil)
	l.waitPids(t, 1)
	c.signal(syscall.SIGHUP)
	if e := c.waitEvent("overlap started"); e.str("reason") != "reload" || e.num("pid") != first.num("pid") {
		t.Errorf("overlap started %v, want reason reload for pid %d", e, first.num("pid"))
	}
	if e := c.waitEvent("old child drained"); e.num("pid") != first.num("pid") || e.num("exit_code") != 0 {
		t.Errorf("old child drained %v, want pid %d, exit_code 0", e, first.num("pid"))
	}
	l.waitPids(t, 2)
	l.stop()
	t.Logf("load: %v", l)

	if n := l.failed(); n != 0 {
		t.Errorf("%d requests failed, want none", n)
	}
	if n := earlyStops(c); n != 0 {
		t.Errorf("the old child was stopped before its successor was ready")
	}
	if w := c.events("listen not held"); len(w) != 0 {
		t.Errorf("listen not held %v, want the app's listen on the held socket", w)
	}
}
