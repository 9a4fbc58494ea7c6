// Package listen holds the service's listening sockets for crinit: it
// parses --listen addresses, binds them before the first child starts and
// describes them to each child with systemd's socket-activation protocol
// (LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID). For node children it carries a
// preload that makes an app's ordinary server.listen(PORT) use the
// inherited socket, reports readiness and stops the app gracefully.
//
// Ownership: sockets are bound by the CLI before the supervisor starts and
// closed when crinit exits; the supervisor only passes their descriptors
// on. Nothing here starts goroutines or keeps mutable state.
package listen
