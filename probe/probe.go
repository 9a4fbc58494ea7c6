package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"
)

// maxBody bounds how much of a response is read before the connection is
// closed: the status is all that counts.
const maxBody = 4 << 10

// Target is what a probe checks.
type Target struct {
	URL *url.URL // http, https or tcp
}

// ParseTarget reads a --probe-url: http://..., https://... or
// tcp://host:port.
func ParseTarget(s string) (Target, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Target{}, fmt.Errorf("not a URL: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return Target{}, errors.New("an HTTP URL needs a host, as in http://127.0.0.1:4000/healthz")
		}
	case "tcp":
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" || u.Path != "" && u.Path != "/" {
			return Target{}, errors.New("a TCP target is tcp://host:port")
		}
	default:
		return Target{}, errors.New("want http://, https:// or tcp://")
	}
	return Target{URL: u}, nil
}

// String is the target with any password masked, for logs and /status.
func (t Target) String() string { return t.URL.Redacted() }

// Causes of a failed probe.
const (
	CauseTimeout = "timeout" // no answer within the timeout
	CauseRefused = "refused" // nothing listens
	CauseStatus  = "status"  // an HTTP answer outside 2xx and 3xx
	CauseError   = "error"   // any other failure
)

// Result is the outcome of one probe.
type Result struct {
	Start    time.Time
	Duration time.Duration
	OK       bool
	Cause    string // why it failed; "" when OK
	Status   int    // the HTTP status, 0 for TCP or no answer
	Err      error
}

// Prober probes one target with a timeout, never holding a connection
// beyond a single probe.
type Prober struct {
	target  Target
	timeout time.Duration
	client  *http.Client
}

// NewProber returns a prober for t whose probes each end within timeout.
// HTTPS certificates are not verified, as the kubelet's probes do not:
// the probe asks whether the app answers, not who it is.
func NewProber(t Target, timeout time.Duration) *Prober {
	tr := &http.Transport{
		DisableKeepAlives: true, // a hung app must not hold our sockets
		Proxy:             nil,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
		DialContext:       (&net.Dialer{}).DialContext,
	}
	return &Prober{
		target:  t,
		timeout: timeout,
		client: &http.Client{
			Transport: tr,
			Timeout:   timeout,
			// 3xx is healthy, as for Docker's curl: do not follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Probe runs one probe, bounded by the prober's timeout and ctx.
func (p *Prober) Probe(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var r Result
	if p.target.URL.Scheme == "tcp" {
		r = p.dial(ctx)
	} else {
		r = p.get(ctx)
	}
	r.Start, r.Duration = start, time.Since(start)
	return r
}

func (p *Prober) dial(ctx context.Context) Result {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.target.URL.Host)
	if err != nil {
		return failure(err)
	}
	conn.Close()
	return Result{OK: true}
}

func (p *Prober) get(ctx context.Context) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.target.URL.String(), nil)
	if err != nil {
		return Result{Cause: CauseError, Err: err}
	}
	req.Header.Set("User-Agent", "crinit-probe")
	resp, err := p.client.Do(req)
	if err != nil {
		return failure(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return Result{Cause: CauseStatus, Status: resp.StatusCode, Err: fmt.Errorf("HTTP status %d", resp.StatusCode)}
	}
	return Result{OK: true, Status: resp.StatusCode}
}

// failure classifies a dial or request error.
func failure(err error) Result {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return Result{Cause: CauseTimeout, Err: err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return Result{Cause: CauseRefused, Err: err}
	}
	return Result{Cause: CauseError, Err: err}
}

// Run probes every interval until ctx is done and sends each result to
// out. A new interval received on intervals takes effect at once, with a
// probe right away (the supervisor probes faster while a child starts).
// One probe is in flight at a time: a slow one delays the next tick
// instead of piling up. A panic while probing becomes a failed result.
func (p *Prober) Run(ctx context.Context, interval time.Duration, intervals <-chan time.Duration, out chan<- Result) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-intervals:
			if d > 0 {
				t.Reset(d)
			}
		case <-t.C:
		}
		r := p.safeProbe(ctx)
		if ctx.Err() != nil {
			return
		}
		select {
		case out <- r:
		case <-ctx.Done():
			return
		}
	}
}

func (p *Prober) safeProbe(ctx context.Context) (r Result) {
	defer func() {
		if v := recover(); v != nil {
			r = Result{Start: time.Now(), Cause: CauseError, Err: fmt.Errorf("probe panic: %v", v)}
		}
	}()
	return p.Probe(ctx)
}

// Target returns what the prober checks.
func (p *Prober) Target() Target { return p.target }
