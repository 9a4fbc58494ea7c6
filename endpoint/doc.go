// Package endpoint serves crinit's own read-only HTTP endpoint: /healthz,
// /readyz, /status and Prometheus /metrics, all computed from the
// supervisor's published Status snapshot at request time.
//
// Ownership: the HTTP server's goroutines only read snapshots; they never
// signal, start or stop anything. Serve recovers per request (net/http does)
// and the serving goroutine itself recovers, so a bug here cannot crash
// PID 1.
package endpoint
