// Package integration drives the real crinit binary as PID 1 of a new PID
// namespace (unshare --pid --fork --mount-proc) with real children: shell,
// node, and this test binary itself, which plays the child in helper modes
// dispatched from TestMain (as Go's os/exec tests do).
//
// The tests need root, unshare and node. Without them they skip with a
// reason, except under CI=true, where they fail.
package integration
