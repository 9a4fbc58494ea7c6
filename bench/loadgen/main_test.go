package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := parseFlags([]string{"-url", "http://127.0.0.1:4540/x?y=1"})
		if err != nil {
			t.Fatal(err)
		}
		if c.addr != "127.0.0.1:4540" || c.clients != 8 || c.duration != 45*time.Second ||
			c.timeout != 2*time.Second || c.interval != 10*time.Millisecond || c.instances != 1 || c.keepalive {
			t.Errorf("config %+v", c)
		}
		want := "GET /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:4540\r\nUser-Agent: crinit-loadgen\r\nConnection: close\r\n\r\n"
		if string(c.request) != want {
			t.Errorf("request %q, want %q", c.request, want)
		}
	})
	t.Run("keepalive, default port", func(t *testing.T) {
		c, err := parseFlags([]string{"-url", "http://localhost", "-keepalive"})
		if err != nil {
			t.Fatal(err)
		}
		if c.addr != "localhost:80" || strings.Contains(string(c.request), "Connection") ||
			!strings.HasPrefix(string(c.request), "GET / HTTP/1.1\r\n") {
			t.Errorf("addr %q request %q", c.addr, c.request)
		}
	})
	for _, args := range [][]string{
		{},
		{"-url", "https://127.0.0.1:1/"},
		{"-url", "127.0.0.1:1"},
		{"-url", "http://127.0.0.1:1/", "-c", "0"},
		{"-url", "http://127.0.0.1:1/", "-d", "0s"},
		{"-url", "http://127.0.0.1:1/", "-instances", "0"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}

// TestRun drives the client against a real server: every answer counted,
// connections reused only with -keepalive, and a closed port refused.
func TestRun(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `{"pid":42}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	for _, keepalive := range []bool{false, true} {
		t.Run(fmt.Sprint("keepalive=", keepalive), func(t *testing.T) {
			conns.Store(0)
			c, err := parseFlags([]string{"-url", srv.URL + "/", "-c", "2", "-d", "200ms", "-interval", "5ms", fmt.Sprint("-keepalive=", keepalive)})
			if err != nil {
				t.Fatal(err)
			}
			r := Summarize(run(c), c.duration, 1)
			if r.Requests < 10 || r.OK != r.Requests || r.Pids != 1 || r.Restarts != 0 {
				t.Errorf("report %+v", r)
			}
			if n := conns.Load(); keepalive && n != 2 || !keepalive && n != int64(r.Requests) {
				t.Errorf("%d connections for %d requests", n, r.Requests)
			}
		})
	}

	t.Run("idle connections the server closed are not failures", func(t *testing.T) {
		idle := httptest.NewUnstartedServer(srv.Config.Handler)
		idle.Config.IdleTimeout = time.Millisecond // closes every connection between two requests
		idle.Start()
		defer idle.Close()
		c, err := parseFlags([]string{"-url", idle.URL + "/", "-c", "2", "-d", "200ms", "-interval", "10ms", "-keepalive"})
		if err != nil {
			t.Fatal(err)
		}
		if r := Summarize(run(c), c.duration, 1); r.Requests < 10 || r.Failed != 0 {
			t.Errorf("report %+v", r)
		}
	})

	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		c, err := parseFlags([]string{"-url", "http://" + addr + "/", "-c", "1", "-d", "50ms", "-interval", "10ms"})
		if err != nil {
			t.Fatal(err)
		}
		r := Summarize(run(c), c.duration, 1)
		if r.Requests == 0 || r.FailedBy.Refused != r.Requests || r.MaxGapMs != 50 {
			t.Errorf("report %+v", r)
		}
	})
}
