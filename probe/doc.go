// Package probe checks that the supervised app still answers: an HTTP(S)
// GET or a TCP connect, bounded by a timeout, and the Docker HEALTHCHECK
// rules (retries, start period) that turn results into a verdict.
//
// Ownership: Run is one goroutine that owns its ticker and at most one
// probe in flight; it only sends Results. Tracker is a plain value owned by
// whoever holds it (the supervisor's loop); it takes results, not clocks.
package probe
