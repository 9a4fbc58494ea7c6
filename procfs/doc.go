// Package procfs reads the few files of proc(5) that crinit needs: the
// process tree under crinit (task/TID/children, or every stat when the
// kernel has no children files), and each process's state, memory,
// descriptors, limits, command line, environment and oom_score_adj.
//
// An FS is rooted at a directory: "/proc" on a real system, a fixture tree
// under testdata in tests. Parsers are pure functions over bytes.
//
// Ownership: an FS keeps scratch space (a read buffer, a path buffer and
// the walk's queues) so that sampling the tree every tick allocates little.
// It therefore belongs to the one goroutine that made it: the supervisor's
// loop and the sampler each make their own with NewFS. The package starts no
// goroutines and has no package-level mutable state.
package procfs
