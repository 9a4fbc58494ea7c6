package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/urfave/cli/v2"
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

// healthCommand is `crinit health`: ask a running crinit's /readyz, for
// HEALTHCHECK CMD ["crinit", "health"] in images without curl.
func healthCommand(stdout io.Writer) *cli.Command {
	return &cli.Command{
		Name:      "health",
		Usage:     "ask a running crinit whether its child is ready; exit 0 if so, 1 if not",
		UsageText: "crinit health [--addr ADDR] [--timeout DURATION]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: defaultHealthAddr, Usage: "crinit's --health-addr", EnvVars: []string{envName("health-addr")}},
			&cli.StringFlag{Name: "timeout", Value: "5s", Usage: "give up after this long"},
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return err
		},
		Action: func(c *cli.Context) error {
			timeout, err := positiveDuration(c.String("timeout"))
			if err != nil {
				return fmt.Errorf("invalid --timeout %q: %w", c.String("timeout"), err)
			}
			url, err := readyURL(c.String("addr"))
			if err != nil {
				return fmt.Errorf("invalid --addr (%s) %q: %w", envName("health-addr"), c.String("addr"), err)
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
		},
	}
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
