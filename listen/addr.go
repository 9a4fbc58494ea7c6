package listen

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// Addr is one address to listen on: a TCP host and port, or a unix
// socket's path.
type Addr struct {
	Network string // "tcp" or "unix"
	Address string // host:port, or an absolute path
}

// Parse reads a --listen value: tcp://HOST:PORT, HOST:PORT, :PORT,
// tcp://[::]:PORT or unix:///path.
func Parse(s string) (Addr, error) {
	if path, ok := strings.CutPrefix(s, "unix://"); ok {
		if !filepath.IsAbs(path) {
			return Addr{}, errors.New("a unix socket needs an absolute path: unix:///run/app.sock")
		}
		return Addr{Network: "unix", Address: filepath.Clean(path)}, nil
	}
	hostport := strings.TrimPrefix(s, "tcp://")
	if strings.Contains(hostport, "://") {
		return Addr{}, errors.New("want tcp://HOST:PORT, HOST:PORT, :PORT or unix:///path")
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return Addr{}, errors.New("want tcp://HOST:PORT, HOST:PORT, :PORT or unix:///path")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return Addr{}, fmt.Errorf("port %q: want 1 to 65535", port)
	}
	if strings.ContainsAny(host, " /,") {
		return Addr{}, fmt.Errorf("host %q: want an IP address or a name", host)
	}
	return Addr{Network: "tcp", Address: net.JoinHostPort(host, port)}, nil
}

// String is the address in the form Parse reads: tcp://HOST:PORT or
// unix:///path.
func (a Addr) String() string {
	return a.Network + "://" + a.Address
}
