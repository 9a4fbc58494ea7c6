// Package limits owns the resource bounds crinit applies to its child before
// exec: sizes as users write them, RLIMIT_NOFILE, and node's V8 heap flag.
//
// Everything here is a pure function or a single syscall on crinit's own
// process; nothing starts goroutines or keeps state.
package limits
