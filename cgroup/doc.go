// Package cgroup finds the memory cgroup crinit runs in, cgroup v1 or v2,
// and reads its limit, usage and event counters.
//
// Readers take a root directory ("/" on a real system, a fixture tree under
// testdata in tests). Nothing here starts goroutines or keeps state: a
// Cgroup is a pair of paths, safe to read from any goroutine.
package cgroup
