package supervisor

import (
	"os"
	"os/signal"
)

// Startup is the work that must be done before the first child and takes
// milliseconds: the signal handlers (each of the 61 registrations is a
// round trip to the Go runtime's signal-mask thread, about 4 ms in all) and
// the thread reserve (threadReserve). BeginStartup begins it on goroutines
// of their own, so that the rest of crinit's start-up (the cgroup, the
// limits, the endpoint) runs meanwhile.
type Startup struct {
	sigs             chan os.Signal
	caught, reserved chan struct{}
}

// BeginStartup registers crinit's handlers for every signal it forwards
// and starts the thread reserve, in the background; Run waits for both
// before it starts the child.
func BeginStartup() *Startup {
	st := &Startup{sigs: make(chan os.Signal, sigBuffer), caught: make(chan struct{}), reserved: make(chan struct{})}
	go func() {
		defer close(st.caught)
		// Never stopped: after Run, crinit exits, and a signal arriving
		// meanwhile must not take the runtime's default action (which
		// would change crinit's exit status). signal.Stop would also cost
		// a round trip per signal on every exit.
		signal.Notify(st.sigs, forwardable()...)
	}()
	go func() {
		defer close(st.reserved)
		reserveThreads(threadReserve)
	}()
	return st
}

// wait returns the channel of caught signals once the handlers are
// registered and the threads reserved.
func (st *Startup) wait() chan os.Signal {
	<-st.caught
	<-st.reserved
	return st.sigs
}
