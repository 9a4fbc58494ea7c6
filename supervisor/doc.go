// Package supervisor runs one child process the way a container's PID 1
// must: it forwards signals, reaps every zombie, turns the child's death into
// an exit status, and leaves no remnants behind.
//
// Ownership: Supervisor.Run is the one goroutine that owns the child's
// lifecycle. It starts the child, drains wait4(-1) (on SIGCHLD and on a
// tick), forwards signals and decides when to stop; nothing else reaps,
// signals or mutates supervisor state. Run locks itself to its OS thread
// because the child's parent-death signal is tied to the forking thread
// (golang/go#27505).
package supervisor
