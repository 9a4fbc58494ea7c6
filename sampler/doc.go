// Package sampler reads crinit's process tree and memory cgroup at an
// interval: every descendant's resident memory, shared pages, open
// descriptors and descriptor limit, summed with shared pages counted once.
//
// Ownership: a Sampler, with the procfs.FS it was given, belongs to the one
// goroutine that calls Sample or Run; no other may use that FS meanwhile.
// Run is that goroutine's body in crinit: it owns nothing but its ticker,
// sends each Sample to the supervisor's loop, which owns every decision
// taken on it, and drops a sample rather than wait when the loop is busy.
// A Sample is a value: once sent, the sampler never touches it again.
package sampler
