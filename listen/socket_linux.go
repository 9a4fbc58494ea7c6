package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Socket is a listening socket crinit holds for its whole life and passes
// to every child. crinit never accepts on it: connections wait in the
// kernel's backlog until a child does.
type Socket struct {
	Asked Addr     // as given on the command line
	Bound Addr     // as bound: the port the kernel chose for :0, the IP of a name
	File  *os.File // the descriptor a child inherits
	ln    net.Listener
}

// Bind listens on a with backlog (0: the kernel's somaxconn). A unix
// socket left behind by an earlier run, with nothing listening on it, is
// replaced.
func Bind(a Addr, backlog int) (*Socket, error) {
	if a.Network == "unix" {
		if err := removeStale(a.Address); err != nil {
			return nil, err
		}
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), a.Network, a.Address)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", a, err)
	}
	s := &Socket{Asked: a, Bound: Addr{Network: a.Network, Address: ln.Addr().String()}, ln: ln}
	if err := s.setBacklog(backlog); err != nil {
		_ = ln.Close()
		return nil, err
	}
	type filer interface{ File() (*os.File, error) }
	if s.File, err = ln.(filer).File(); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("descriptor of %s: %w", a, err)
	}
	return s, nil
}

// setBacklog listens again with backlog: on Linux a second listen on a
// listening socket only changes its backlog.
func (s *Socket) setBacklog(backlog int) error {
	if backlog <= 0 {
		return nil // Go listens with somaxconn already
	}
	raw, err := s.ln.(syscall.Conn).SyscallConn()
	if err != nil {
		return fmt.Errorf("backlog of %s: %w", s.Asked, err)
	}
	var lerr error
	if err := raw.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), backlog) }); err != nil {
		return fmt.Errorf("backlog of %s: %w", s.Asked, err)
	}
	if lerr != nil {
		return fmt.Errorf("backlog %d of %s: %w", backlog, s.Asked, lerr)
	}
	return nil
}

// removeStale removes a unix socket at path that nothing listens on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != os.ModeSocket {
		return nil // absent, or not a socket: bind says what is wrong
	}
	c, err := net.Dial("unix", path)
	if err == nil {
		_ = c.Close()
		return nil // in use: bind fails with "address already in use"
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return nil
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}

// Close stops listening; a unix socket's file is removed.
func (s *Socket) Close() error {
	ferr := s.File.Close()
	if err := s.ln.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.Bound, err)
	}
	if ferr != nil {
		return fmt.Errorf("close %s: %w", s.Bound, ferr)
	}
	return nil
}

// Name is the socket's name in LISTEN_FDNAMES, which may not hold a
// colon: tcp-127.0.0.1-8080, tcp-any-4000 (every address), tcp-..1-8080
// (::1), unix-/run/app.sock.
func (s *Socket) Name() string {
	host, port, err := net.SplitHostPort(s.Bound.Address)
	if s.Bound.Network != "tcp" || err != nil {
		return s.Bound.Network + "-" + strings.ReplaceAll(s.Bound.Address, ":", ".")
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "any"
	}
	return "tcp-" + strings.ReplaceAll(host, ":", ".") + "-" + port
}

// Env is what a child needs to find the sockets passed to it as fds 3, 4,
// …: LISTEN_FDS and LISTEN_FDNAMES (systemd's protocol; LISTEN_PID can
// only be set after the fork) and CRINIT_LISTEN_ADDRS, each socket's
// address in fd order, for the node preload.
func Env(socks []*Socket) []string {
	names := make([]string, len(socks))
	addrs := make([]string, len(socks))
	for i, s := range socks {
		names[i], addrs[i] = s.Name(), s.Bound.String()
	}
	return []string{
		"LISTEN_FDS=" + strconv.Itoa(len(socks)),
		"LISTEN_FDNAMES=" + strings.Join(names, ":"),
		"CRINIT_LISTEN_ADDRS=" + strings.Join(addrs, ","),
	}
}
