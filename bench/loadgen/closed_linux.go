package main

import (
	"errors"
	"net"
	"syscall"
)

// peerClosed says whether the peer has already closed (or reset) conn, or
// sent something unasked, by peeking at its socket without blocking: what
// a client's connection pool sees before it reuses an idle connection.
// Only an EAGAIN (nothing to read, still open) keeps it.
func peerClosed(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	var buf [1]byte
	var rerr error
	if err := rc.Control(func(fd uintptr) {
		_, _, rerr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	}); err != nil {
		return true
	}
	return !errors.Is(rerr, syscall.EAGAIN)
}
