// Package supervisor runs one child process the way a container's PID 1
// must: it forwards signals, reaps every zombie, turns the child's death into
// an exit status, leaves no remnants behind and restarts the child as its
// policy says.
//
// Each child is a generation with a phase of its own (starting, running,
// draining, stopping, cleaning, exited), changed only by generation.enter;
// several generations may be alive at once. What belongs to the supervisor
// as a whole (shutting down, a backoff wait, done) lives beside them. The
// restart policy (Restarts) is pure: it is given times and returns
// decisions.
//
// Ownership: the loop goroutine (Run, locked to its OS thread because the
// child's parent-death signal is tied to the forking thread,
// golang/go#27505) owns every generation and every decision: it starts
// children, drains wait4(-1) on SIGCHLD and on a tick, forwards signals,
// stops children and clears their remnants on its one timer. Its side
// effects go through the host interface: the real one (host_linux.go) uses
// the procfs and cgroup packages; tests use a fake one in fake time. The
// sampler and the prober run on goroutines of their own and only send
// values to the loop; a panic there ends that worker, not crinit. Status
// is the one thing other goroutines read: an immutable snapshot the loop
// publishes after each event.
package supervisor
