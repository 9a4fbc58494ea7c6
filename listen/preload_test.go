package listen

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crinit/crinit/internal/testmain"
)

func TestMain(m *testing.M) {
	testmain.Run(m, "CRINIT_LISTEN_TEST_HELPER", nil)
}

// eventTimeout bounds every wait for something a node child does; a
// healthy child does each in well under a second.
const eventTimeout = 20 * time.Second

// needNode is node's path. Without node the test is skipped, except in CI
// (CI=true), where it fails.
func needNode(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node is needed in CI: %v", err)
		}
		t.Skipf("node is not installed: %v", err)
	}
	return path
}

// heldSocket is a listening socket the test holds as crinit does: it
// passes it to children and never accepts on it itself.
type heldSocket struct {
	addr string // as in CRINIT_LISTEN_ADDRS
	port int    // TCP only
	file *os.File
}

func holdTCP(t *testing.T) heldSocket {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = f.Close()
		_ = ln.Close()
	})
	return heldSocket{addr: "tcp://" + ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port, file: f}
}

func holdUnix(t *testing.T, path string) heldSocket {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = f.Close()
		_ = ln.Close()
	})
	return heldSocket{addr: "unix://" + path, file: f}
}

// freePort is a TCP port on 127.0.0.1 that nothing listened on a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// app is how to start a node child the way crinit does.
type app struct {
	script    string // file under testdata
	held      []heldSocket
	env       []string // KEY=VALUE, last wins
	dir       string
	listenPID string // "": the child's own pid, as crinit sets it
}

// child is a running node child. Its notify pipe and its output arrive
// line by line on channels that close when the child is gone.
type child struct {
	cmd     *exec.Cmd
	notes   chan string // CRINIT_NOTIFY_FD
	out     chan string // stdout and stderr
	exited  chan struct{}
	state   *os.ProcessState // set once exited is closed
	readers sync.WaitGroup
	unread  chan struct{} // closed at cleanup: readers drop lines nobody awaits

	mu       sync.Mutex
	allNotes []string
	allOut   []string
}

// start starts a.script under node with the preload read from
// preload.mjs, the held sockets as fds 3, 4, … and the notify pipe's
// write end after them.
func start(t *testing.T, a app) *child {
	t.Helper()
	node := needNode(t)
	preload, err := os.ReadFile("preload.mjs")
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", a.script))
	if err != nil {
		t.Fatal(err)
	}

	var cmd *exec.Cmd
	if a.listenPID == "" {
		// Only the child knows its pid before node starts; crinit re-execs
		// itself for this, a shell does it here.
		cmd = exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$1"`, node, script)
	} else {
		cmd = exec.Command(node, script)
	}
	cmd.Dir = a.dir

	var names, addrs []string
	for i, h := range a.held {
		cmd.ExtraFiles = append(cmd.ExtraFiles, h.file)
		names = append(names, "sock"+strconv.Itoa(i))
		addrs = append(addrs, h.addr)
	}
	notesR, notesW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, notesW)
	cmd.Stdout, cmd.Stderr = outW, outW

	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "NODE_OPTIONS" || strings.HasPrefix(k, "LISTEN_") || strings.HasPrefix(k, "CRINIT_") {
			continue // this test may itself run under crinit
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env,
		"NODE_OPTIONS=--import=data:text/javascript;base64,"+base64.StdEncoding.EncodeToString(preload),
		"LISTEN_FDS="+strconv.Itoa(len(a.held)),
		"LISTEN_FDNAMES="+strings.Join(names, ":"),
		"CRINIT_LISTEN_ADDRS="+strings.Join(addrs, ","),
		"CRINIT_NOTIFY_FD="+strconv.Itoa(3+len(a.held)),
	)
	if a.listenPID != "" {
		cmd.Env = append(cmd.Env, "LISTEN_PID="+a.listenPID)
	}
	cmd.Env = append(cmd.Env, a.env...)

	err = cmd.Start()
	_ = notesW.Close()
	_ = outW.Close()
	if err != nil {
		_ = notesR.Close()
		_ = outR.Close()
		t.Fatal(err)
	}

	c := &child{
		cmd:    cmd,
		notes:  make(chan string, 256),
		out:    make(chan string, 256),
		exited: make(chan struct{}),
		unread: make(chan struct{}),
	}
	c.readers.Add(2)
	go c.read(notesR, c.notes, &c.allNotes)
	go c.read(outR, c.out, &c.allOut)
	go func() {
		_ = cmd.Wait()
		c.state = cmd.ProcessState
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = cmd.Process.Kill()
			<-c.exited
		}
		close(c.unread)
		c.readers.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s\nnotes: %q", a.script, strings.Join(c.allOut, "\n"), c.allNotes)
		}
	})
	return c
}

// read passes r's lines to ch and keeps them in all, until EOF.
func (c *child) read(r *os.File, ch chan<- string, all *[]string) {
	defer c.readers.Done()
	defer close(ch)
	defer func() { _ = r.Close() }()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		c.mu.Lock()
		*all = append(*all, sc.Text())
		c.mu.Unlock()
		select {
		case ch <- sc.Text():
		case <-c.unread:
		}
	}
}

// await skips lines of ch until one starts with prefix, and returns it.
func await(t *testing.T, ch <-chan string, what, prefix string) string {
	t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-ch:
			if !ok {
				t.Fatalf("%s ended before %q", what, prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timer.C:
			t.Fatalf("no %q on %s within %v", prefix, what, eventTimeout)
		}
	}
}

func (c *child) awaitNote(t *testing.T, prefix string) string {
	t.Helper()
	return await(t, c.notes, "notify pipe", prefix)
}

func (c *child) awaitOut(t *testing.T, prefix string) string {
	t.Helper()
	return await(t, c.out, "output", prefix)
}

// wait waits for the child to exit and for its pipes to close, and returns
// its status and every note it sent.
func (c *child) wait(t *testing.T) (*os.ProcessState, []string) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(eventTimeout):
		t.Fatalf("child still runs after %v", eventTimeout)
	}
	c.readers.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, slices.Clone(c.allNotes)
}

func (c *child) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// listeningPort reads the port from a "LISTENING {server.address()}" line.
func listeningPort(t *testing.T, line string) int {
	t.Helper()
	var addr struct{ Port int }
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "LISTENING ")), &addr); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return addr.Port
}

func newClient(t *testing.T, tr *http.Transport) *http.Client {
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: eventTimeout}
}

func unixClient(t *testing.T, path string) *http.Client {
	return newClient(t, &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	})
}

// get wants 200 and returns the body.
func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %q", url, resp.Status, body)
	}
	return string(body)
}

func wantExit(t *testing.T, st *os.ProcessState, code int) {
	t.Helper()
	if st.ExitCode() != code {
		t.Fatalf("child ended with %v, want exit code %d", st, code)
	}
}

func wantSIGTERM(t *testing.T, st *os.ProcessState) {
	t.Helper()
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("child ended with %v, want death by SIGTERM", st)
	}
}

func TestPreload_ServesHeldSocket(t *testing.T) {
	tests := []struct {
		script, wantBody string
	}{
		{"plain.js", "plain /x"},
		{"express.js", "express /x"}, // app.listen(PORT, '0.0.0.0') on a held 127.0.0.1
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			t.Parallel()
			held := holdTCP(t)
			c := start(t, app{script: tt.script, held: []heldSocket{held}, env: []string{"PORT=" + strconv.Itoa(held.port)}})
			c.awaitNote(t, "READY=1")
			if port := listeningPort(t, c.awaitOut(t, "LISTENING ")); port != held.port {
				t.Errorf("server.address() port %d, want the held %d", port, held.port)
			}
			client := newClient(t, &http.Transport{})
			if body := get(t, client, "http://127.0.0.1:"+strconv.Itoa(held.port)+"/x"); body != tt.wantBody {
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
			c.signal(t, syscall.SIGTERM)
			st, _ := c.wait(t)
			wantExit(t, st, 0)
		})
	}
}

func TestPreload_UnheldPortLeftAlone(t *testing.T) {
	t.Parallel()
	held := holdTCP(t)
	unheld := freePort(t)
	c := start(t, app{script: "unheld.js", held: []heldSocket{held}, env: []string{
		"PORT=" + strconv.Itoa(held.port), "UNHELD_PORT=" + strconv.Itoa(unheld),
	}})
	c.awaitNote(t, "READY=1")
	if port := listeningPort(t, c.awaitOut(t, "LISTENING ")); port != unheld {
		t.Errorf("unheld server on port %d, want %d", port, unheld)
	}
	client := newClient(t, &http.Transport{})
	for _, port := range []int{held.port, unheld} {
		if body := get(t, client, "http://127.0.0.1:"+strconv.Itoa(port)+"/"); body != "unheld /" {
			t.Errorf("port %d: body %q", port, body)
		}
	}
	c.signal(t, syscall.SIGTERM)
	st, notes := c.wait(t)
	wantExit(t, st, 0)
	var got []string
	for _, n := range notes {
		if strings.HasPrefix(n, "CRINIT_UNHELD=") {
			got = append(got, n)
		}
	}
	if want := []string{"CRINIT_UNHELD=tcp://127.0.0.1:" + strconv.Itoa(unheld)}; !slices.Equal(got, want) {
		t.Errorf("unheld notes %q, want %q", got, want)
	}
}

func TestPreload_AppReadsListenFDs(t *testing.T) {
	t.Parallel()
	held := holdTCP(t)
	c := start(t, app{script: "ownfd.js", held: []heldSocket{held}})
	if line, want := c.awaitOut(t, "ENV "), "ENV 1 true sock0"; line != want {
		t.Errorf("app saw %q, want %q", line, want)
	}
	c.awaitNote(t, "READY=1")
	c.awaitOut(t, "LISTENING ")
	client := newClient(t, &http.Transport{})
	if body := get(t, client, "http://127.0.0.1:"+strconv.Itoa(held.port)+"/"); body != "ownfd /" {
		t.Errorf("body %q", body)
	}
}

func TestPreload_Inert(t *testing.T) {
	tests := []struct {
		name      string
		listenPID string
		env       []string
	}{
		{name: "LISTEN_PID of another process", listenPID: strconv.Itoa(os.Getpid())},
		{name: "more addresses than LISTEN_FDS", env: []string{"CRINIT_LISTEN_ADDRS=tcp://127.0.0.1:1,tcp://127.0.0.1:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			held := holdTCP(t)
			env := append([]string{"PORT=" + strconv.Itoa(held.port), "HOST=127.0.0.1"}, tt.env...)
			c := start(t, app{script: "plain.js", held: []heldSocket{held}, env: env, listenPID: tt.listenPID})
			// Untouched, the app binds the address itself, which the test holds.
			c.awaitOut(t, "SIGTERM_LISTENERS 0")
			c.awaitOut(t, "ERROR EADDRINUSE")
			st, notes := c.wait(t)
			wantExit(t, st, 3)
			if len(notes) != 0 {
				t.Errorf("notes %q, want none", notes)
			}
		})
	}
}

func TestPreload_UnixSocket(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.sock")
	held := holdUnix(t, path)
	// A relative path, resolved against the app's working directory.
	c := start(t, app{script: "plain.js", held: []heldSocket{held}, dir: dir, env: []string{"PORT=app.sock"}})
	c.awaitNote(t, "READY=1")
	if line, want := c.awaitOut(t, "LISTENING "), "LISTENING "+strconv.Quote(path); line != want {
		t.Errorf("%q, want %q", line, want)
	}
	if body := get(t, unixClient(t, path), "http://app/u"); body != "plain /u" {
		t.Errorf("body %q", body)
	}
	c.signal(t, syscall.SIGTERM)
	st, _ := c.wait(t)
	wantExit(t, st, 0)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the held socket's file: %v", err)
	}
}

func TestPreload_GracefulStop(t *testing.T) {
	t.Parallel()
	held := holdTCP(t)
	hostport := strings.TrimPrefix(held.addr, "tcp://")
	url := "http://" + hostport
	a := app{script: "plain.js", held: []heldSocket{held}, env: []string{"PORT=" + strconv.Itoa(held.port)}}
	old := start(t, a)
	old.awaitNote(t, "READY=1")

	// An idle keep-alive connection and one that never sent a byte (a
	// preconnect): the stop must close both.
	get(t, newClient(t, &http.Transport{}), url+"/")
	silent, err := net.Dial("tcp", hostport)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })

	type result struct {
		status int
		body   string
		close  bool
		err    error
	}
	slow := make(chan result, 1)
	slowClient := newClient(t, &http.Transport{})
	go func() {
		resp, err := slowClient.Get(url + "/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		slow <- result{status: resp.StatusCode, body: string(body), close: resp.Close, err: err}
	}()
	old.awaitOut(t, "REQ /slow") // accepted after the silent connection: the backlog is FIFO

	old.signal(t, syscall.SIGTERM)
	old.awaitNote(t, "CRINIT_STOPPING=1")
	// The old child no longer accepts; the connection waits in the backlog
	// of the socket the test holds.
	conn, err := net.Dial("tcp", hostport)
	if err != nil {
		t.Fatalf("connection during the stop: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := io.WriteString(conn, "GET /backlog HTTP/1.1\r\nHost: app\r\n\r\n"); err != nil {
		t.Fatal(err)
	}

	select {
	case r := <-slow:
		if r.err != nil || r.status != http.StatusOK || r.body != "plain /slow" {
			t.Fatalf("request in flight: %d %q %v", r.status, r.body, r.err)
		}
		if !r.close {
			t.Error("response in flight during the stop kept its connection alive")
		}
	case <-time.After(eventTimeout):
		t.Fatal("request in flight never completed")
	}
	st, _ := old.wait(t)
	wantExit(t, st, 0)

	// The next child serves what waited.
	next := start(t, a)
	next.awaitNote(t, "READY=1")
	if err := conn.SetDeadline(time.Now().Add(eventTimeout)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("connection made during the stop: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || string(body) != "plain /backlog" {
		t.Fatalf("connection made during the stop: %s %q %v", resp.Status, body, err)
	}
}

func TestPreload_AppSIGTERMHandlerKept(t *testing.T) {
	t.Parallel()
	held := holdTCP(t)
	c := start(t, app{script: "sigterm.js", held: []heldSocket{held}, env: []string{"PORT=" + strconv.Itoa(held.port)}})
	c.awaitNote(t, "READY=1")
	c.signal(t, syscall.SIGTERM)
	st, notes := c.wait(t)
	wantExit(t, st, 7)
	if slices.Contains(notes, "CRINIT_STOPPING=1") {
		t.Errorf("notes %q: the preload stopped an app that handles SIGTERM", notes)
	}
}

func TestPreload_DiesOfSIGTERM(t *testing.T) {
	tests := []struct {
		name, script, ready string
		env                 []string
	}{
		{name: "no held server", script: "noheld.js", ready: "LISTENING "},
		{name: "graceful stop off", script: "plain.js", ready: "LISTENING ", env: []string{"CRINIT_LISTEN_GRACEFUL=0"}},
		{name: "signal-exit style listener", script: "signalexit.js", ready: "LISTENING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			held := holdTCP(t)
			env := append([]string{"PORT=" + strconv.Itoa(held.port)}, tt.env...)
			c := start(t, app{script: tt.script, held: []heldSocket{held}, env: env})
			c.awaitOut(t, tt.ready)
			c.signal(t, syscall.SIGTERM)
			st, notes := c.wait(t)
			wantSIGTERM(t, st)
			for _, n := range notes {
				if n != "READY=1" {
					t.Errorf("note %q", n)
				}
			}
		})
	}
}
