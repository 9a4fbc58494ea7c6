package supervisor

import (
	"runtime"
	"sync"
)

// threadReserve is how many OS threads crinit starts before the child and
// leaves idle in the Go runtime's pool, which never gives them back. In a
// cgroup at its memory limit the kernel may refuse a new thread's stack
// (clone fails with ENOMEM while an OOM kill is under way), and Go's
// runtime cannot survive that: "failed to create new OS thread" is fatal.
// A goroutine stalled in a syscall during the storm (a /proc read, a write
// to a slow log pipe, a scrape's cgroup read) then takes an idle thread
// instead of asking the kernel for one. Eight covers every worker, the
// loop and a few concurrent scrapes stalled at once; each costs a few KiB.
const threadReserve = 8

// reserveThreads makes the runtime hold at least n idle OS threads: n
// goroutines lock themselves to threads of their own at once, which makes
// the runtime start a thread for each, and then unlock and end, which
// leaves each thread idle in the pool.
func reserveThreads(n int) {
	var locked, done sync.WaitGroup
	release := make(chan struct{})
	locked.Add(n)
	done.Add(n)
	for range n {
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			locked.Done()
			<-release
			runtime.UnlockOSThread()
		}()
	}
	locked.Wait()
	close(release)
	done.Wait()
}
