package listen

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestBind holds a TCP socket: connections are accepted through the
// descriptor a child would inherit, and wait in the backlog meanwhile.
func TestBind(t *testing.T) {
	s, err := Bind(Addr{Network: "tcp", Address: "127.0.0.1:0"}, 16)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Bound.String(), "tcp://127.0.0.1:") || strings.HasSuffix(s.Bound.String(), ":0") {
		t.Errorf("bound %s, want the port the kernel chose", s.Bound)
	}
	c, err := net.Dial("tcp", s.Bound.Address) // waits in the backlog: nobody accepts yet
	if err != nil {
		t.Fatalf("connect before any accept: %v", err)
	}
	defer c.Close()
	ln, err := net.FileListener(s.File) // what a child does with fd 3
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept through the held descriptor: %v", err)
	}
	conn.Close()
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestBind_InUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	a, _ := Parse(busy.Addr().String())
	if _, err := Bind(a, 0); !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), a.String()) {
		t.Errorf("Bind on a busy port: %v, want EADDRINUSE naming %s", err, a)
	}
}

// TestBind_Unix replaces a stale socket file, refuses one in use, and
// removes its own at Close.
func TestBind_Unix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.sock")
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // the file stays, nothing listens: a crashed run's leftover
	a := Addr{Network: "unix", Address: path}
	s, err := Bind(a, 0)
	if err != nil {
		t.Fatalf("Bind over a stale socket: %v", err)
	}
	if _, err := Bind(a, 0); err == nil {
		t.Error("Bind on a socket in use succeeded")
	}
	if got := s.Name(); got != "unix-"+path {
		t.Errorf("Name = %q", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left after Close: %v", err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Bind(a, 0); err == nil {
		t.Error("Bind over a regular file succeeded")
	}
}

func TestEnv(t *testing.T) {
	var socks []*Socket
	for _, a := range []Addr{{"tcp", "127.0.0.1:0"}, {"unix", filepath.Join(t.TempDir(), "a.sock")}} {
		sock, err := Bind(a, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer sock.Close()
		socks = append(socks, sock)
	}
	env := Env(socks)
	want := []string{"LISTEN_FDS=2",
		"LISTEN_FDNAMES=" + socks[0].Name() + ":" + socks[1].Name(),
		"CRINIT_LISTEN_ADDRS=" + socks[0].Bound.String() + "," + socks[1].Bound.String()}
	if !slices.Equal(env, want) {
		t.Errorf("Env = %q, want %q", env, want)
	}
	for _, s := range socks {
		if strings.Contains(s.Name(), ":") {
			t.Errorf("name %q holds a colon", s.Name())
		}
	}
}

func TestName(t *testing.T) {
	for addr, want := range map[Addr]string{
		{"tcp", "127.0.0.1:8080"}: "tcp-127.0.0.1-8080",
		{"tcp", "[::]:4000"}:      "tcp-any-4000",
		{"tcp", "0.0.0.0:4000"}:   "tcp-any-4000",
		{"tcp", "[::1]:8080"}:     "tcp-..1-8080",
		{"unix", "/run/a:b.sock"}: "unix-/run/a.b.sock",
	} {
		if got := (&Socket{Bound: addr}).Name(); got != want {
			t.Errorf("Name of %s = %q, want %q", addr, got, want)
		}
	}
}

func TestWithPreload(t *testing.T) {
	env := WithPreload([]string{"PATH=/bin", "NODE_OPTIONS=--max-old-space-size=256", "CRINIT_LISTEN_GRACEFUL=1"}, false)
	want := []string{"PATH=/bin", "NODE_OPTIONS=--max-old-space-size=256 " + PreloadFlag(), "CRINIT_LISTEN_GRACEFUL=0"}
	if !slices.Equal(env, want) {
		t.Errorf("WithPreload = %q, want %q", env, want)
	}
	if env := WithPreload(nil, true); !slices.Equal(env, []string{"NODE_OPTIONS=" + PreloadFlag()}) {
		t.Errorf("WithPreload(nil) = %q", env)
	}
	if !strings.HasPrefix(PreloadFlag(), "--import=data:text/javascript;base64,") || strings.ContainsAny(PreloadFlag(), " \t\n") {
		t.Errorf("PreloadFlag %q: want one NODE_OPTIONS word", PreloadFlag()[:60])
	}
}
