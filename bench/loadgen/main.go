// Command loadgen puts a steady load on an HTTP service and reports what its
// clients saw while the service restarted: failures by kind, the longest
// time without a successful answer, latency, and how many processes
// answered. bench/downtime.sh runs it against each supervisor:
//
//	go run ./bench/loadgen -url http://127.0.0.1:4540/ -c 8 -d 45s [-keepalive]
//
// Each of the -c clients sends GET requests one at a time, starting one
// every -interval (or at once, when the previous took longer), so that a
// service that refuses connections meets the same request rate as one that
// answers, and failures per restart measure time without service. A request
// has -timeout for everything: connect, send, the answer and its body.
//
// The client is a few lines of HTTP/1.1 over net.Conn rather than
// net/http's Transport, which retries a GET on its own when a reused
// connection turns out to be closed: a failure here is one a plain client
// sees. Without -keepalive every request has its own connection
// ("Connection: close"); with it each client keeps one connection for as
// long as it works and opens a new one after any failure, or when the
// server has closed it while it was idle (which a connection pool notices
// before reusing a connection; a close that crosses a request on the wire
// is a failure).
//
// The service answers {"pid":N} (bench/apps/*.js); the distinct pids count
// the processes that served, so restarts = pids - instances, whatever the
// supervisor. At the end loadgen prints one JSON line (see Report) and
// exits 0; it exits 2 on a usage error.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// config is loadgen's flags, checked.
type config struct {
	addr      string // host:port to connect to
	request   []byte // the request, as sent
	clients   int
	duration  time.Duration
	interval  time.Duration
	timeout   time.Duration
	instances int
	keepalive bool
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	samples := run(cfg)
	out, err := json.Marshal(Summarize(samples, cfg.duration, cfg.instances))
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	rawURL := fs.String("url", "", "the service, http://HOST:PORT/PATH (required)")
	c := config{}
	fs.IntVar(&c.clients, "c", 8, "concurrent clients")
	fs.DurationVar(&c.duration, "d", 45*time.Second, "how long to send requests")
	fs.DurationVar(&c.interval, "interval", 10*time.Millisecond, "each client starts a request at most this often; 0: back to back")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "deadline of one request, connect included")
	fs.IntVar(&c.instances, "instances", 1, "processes serving at once (pm2 -i N): restarts = pids - instances")
	fs.BoolVar(&c.keepalive, "keepalive", false, "keep each client's connection across requests")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	u, err := url.Parse(*rawURL)
	switch {
	case err != nil:
		return c, fmt.Errorf("-url: %w", err)
	case u.Scheme != "http" || u.Host == "":
		return c, fmt.Errorf("-url %q: want http://HOST:PORT/PATH", *rawURL)
	case c.clients < 1, c.duration <= 0, c.timeout <= 0, c.interval < 0, c.instances < 1:
		return c, fmt.Errorf("want -c ≥ 1, -d > 0, -timeout > 0, -interval ≥ 0, -instances ≥ 1")
	}
	c.addr = u.Host
	if u.Port() == "" {
		c.addr = net.JoinHostPort(u.Hostname(), "80")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: crinit-loadgen\r\n", u.RequestURI(), u.Host)
	if !c.keepalive {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	c.request = b.Bytes()
	return c, nil
}

// run starts the clients, waits for them and returns every request's sample.
func run(cfg config) []Sample {
	start := time.Now()
	results := make([][]Sample, cfg.clients)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			cl := client{cfg: cfg}
			defer cl.close()
			results[i] = cl.loop(start)
		})
	}
	wg.Wait()
	var all []Sample
	for _, r := range results {
		all = append(all, r...)
	}
	return all
}

// client is one client: one request at a time, at most one connection.
type client struct {
	cfg  config
	conn net.Conn
	br   *bufio.Reader
}

// loop sends requests until cfg.duration has passed since start. A request
// started before then is waited for.
func (c *client) loop(start time.Time) []Sample {
	end := start.Add(c.cfg.duration)
	var samples []Sample
	for next := time.Now(); ; {
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		t0 := time.Now()
		if !t0.Before(end) {
			return samples
		}
		next = t0.Add(c.cfg.interval)
		pid, err := c.do(t0.Add(c.cfg.timeout))
		t1 := time.Now()
		samples = append(samples, Sample{End: t1.Sub(start), Latency: t1.Sub(t0), Kind: Classify(err), Pid: pid, Err: err})
	}
}

// do sends one request and reads its answer, all before deadline; it
// returns the pid in the answer. After any error, or an answer that closes
// the connection, the connection is closed.
func (c *client) do(deadline time.Time) (int, error) {
	pid, keep, err := c.exchange(deadline)
	if err != nil || !keep {
		c.close()
	}
	return pid, err
}

func (c *client) exchange(deadline time.Time) (pid int, keep bool, err error) {
	// An idle connection the server has closed meanwhile is dropped, not
	// used: a client's pool would have seen it close.
	if c.conn != nil && (c.br.Buffered() > 0 || peerClosed(c.conn)) {
		c.close()
	}
	if c.conn == nil {
		d := net.Dialer{Deadline: deadline}
		if c.conn, err = d.Dial("tcp", c.cfg.addr); err != nil {
			return 0, false, err
		}
		c.br = bufio.NewReader(c.conn)
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	if _, err := c.conn.Write(c.cfg.request); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, false, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return 0, false, err
	}
	keep = c.cfg.keepalive && !resp.Close
	if resp.StatusCode != http.StatusOK {
		return 0, keep, StatusError{Code: resp.StatusCode}
	}
	var answer struct {
		Pid int `json:"pid"`
	}
	if json.Unmarshal(body, &answer) != nil {
		return 0, keep, nil // served all the same; only its pid is unknown
	}
	return answer.Pid, keep, nil
}

func (c *client) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn, c.br = nil, nil
	}
}
