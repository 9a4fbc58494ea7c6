package limits

import (
	"errors"
	"fmt"
	"syscall"
)

// SetNofile sets crinit's own RLIMIT_NOFILE, soft and hard, to n so that the
// child inherits it across exec. Raising the hard limit needs
// CAP_SYS_RESOURCE and may not exceed fs.nr_open; when that is refused the
// error says so rather than clamping in silence.
//
// It must be syscall.Setrlimit, not unix.Setrlimit: the Go runtime raises its
// own soft limit at start and restores the original one in children unless
// syscall.Setrlimit was called (golang/go#66797).
func SetNofile(n uint64) (before syscall.Rlimit, err error) {
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &before); err != nil {
		return before, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	want := syscall.Rlimit{Cur: n, Max: n}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		if errors.Is(err, syscall.EPERM) && n > before.Max {
			return before, fmt.Errorf("raise RLIMIT_NOFILE hard limit from %d to %d (needs CAP_SYS_RESOURCE and n <= fs.nr_open): %w", before.Max, n, err)
		}
		return before, fmt.Errorf("set RLIMIT_NOFILE to %d: %w", n, err)
	}
	return before, nil
}
