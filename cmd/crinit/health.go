package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// defaultHealthAddr is where crinit's endpoint listens unless told.
const defaultHealthAddr = "127.0.0.1:9753"

// exitError ends crinit with code after printing msg, when there is one,
// to stderr.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// healthUsage says what `crinit health` does.
const healthUsage = "ask a running crinit whether its child is ready; exit 0 if so, 1 if not"

// healthFlags are `crinit health`'s flags; --addr reads crinit's own
// CRINIT_HEALTH_ADDR.
var healthFlags = []flagSpec{
	{"addr", defaultHealthAddr, "crinit's --health-addr", nil},
	{"timeout", "5s", "give up after this long", nil},
}

// healthEnv is the variable of each of healthFlags.
func healthEnv(flag string) string {
	if flag == "addr" {
		return envName("health-addr")
	}
	return ""
}

// health is `crinit health`: ask a running crinit's /readyz, for
// HEALTHCHECK CMD ["crinit", "health"] in images without curl.
func health(stdout io.Writer, args []string) error {
	fs, values := flagSet(healthFlags, healthEnv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "NAME:\n   crinit health - %s\n\nUSAGE:\n   crinit health [--addr ADDR] [--timeout DURATION]\n\n", healthUsage)
			printFlags(stdout, healthFlags, healthEnv)
			fmt.Fprintf(stdout, "   --help, -h  show help\n")
			return nil
		}
		return err
	}
	v := values()
	timeout, err := positiveDuration(v["timeout"])
	if err != nil {
		return fmt.Errorf("invalid --timeout %q: %w", v["timeout"], err)
	}
	url, err := readyURL(v["addr"])
	if err != nil {
		return fmt.Errorf("invalid --addr (%s) %q: %w", envName("health-addr"), v["addr"], err)
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	resp, err := client.Get(url)
	if err != nil {
		return &exitError{1, fmt.Sprintf("crinit health: unhealthy: %v", err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	reason := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return &exitError{1, fmt.Sprintf("crinit health: not ready (%d): %s", resp.StatusCode, reason)}
	}
	fmt.Fprintf(stdout, "crinit health: ready: %s\n", reason)
	return nil
}

// readyURL is /readyz at addr; a wildcard host (":9753", "0.0.0.0:9753")
// is asked on loopback.
func readyURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("want host:port: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
