package cgroup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrEmpty means the watched cgroup has no process left (cgroup.events
// says "populated 0"): no memory event can follow.
var ErrEmpty = errors.New("cgroup has no process left")

// EventWatch wakes its owner when the kernel changes the cgroup's memory
// event counters, within about 10 ms of an event (the kernel rate-limits
// its notifications to one per 10 ms). On v2 it is an inotify watch for
// IN_MODIFY on memory.events and cgroup.events; on v1 an eventfd
// registered through cgroup.event_control on memory.oom_control, which the
// kernel signals on every OOM in the cgroup. One goroutine calls Wait;
// Close may be called from any other.
type EventWatch struct {
	f         *os.File // the inotify instance or the eventfd, non-blocking for Go's poller
	populated int32    // v2: the watch descriptor of cgroup.events
	events    string   // v2: cgroup.events
	v1        *Cgroup  // v1: the cgroup, whose oom_kill counter Wait follows
	kills     uint64   // v1: oom_kill at the last wake
	// v1: memory.oom_control, held open so that following the counter
	// while the cgroup is out of memory opens no file: a new file is kernel
	// memory charged to the cgroup, and a charge that fails in the moment
	// after the victim is gone makes the OOM killer pick crinit next. -1
	// once closed.
	control int
	buf     [512]byte
}

// v1 signals the eventfd when the cgroup goes out of memory, before the
// OOM killer has picked its victim (mem_cgroup_oom notifies first): after
// a wake, Wait follows oom_kill this long for the kill to show.
const (
	v1KillWait = 100 * time.Millisecond
	v1KillPoll = 5 * time.Millisecond
)

// WatchEvents starts watching the cgroup's memory events. It fails where
// the kernel refuses: the inotify instance limit (fs.inotify.max_user_
// instances, 128 by default, shared by every container of a user) reached,
// or a read-only cgroupfs on v1. The caller then reads the counters with
// each sample instead.
func (c *Cgroup) WatchEvents() (*EventWatch, error) {
	if c.Version == 1 {
		return c.watchV1()
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	w := &EventWatch{f: os.NewFile(uintptr(fd), "inotify"), populated: -1}
	if _, err := unix.InotifyAddWatch(fd, filepath.Join(c.Dir, "memory.events"), unix.IN_MODIFY); err != nil {
		w.f.Close()
		return nil, fmt.Errorf("watch memory.events: %w", err)
	}
	w.events = filepath.Join(c.Dir, "cgroup.events")
	if wd, err := unix.InotifyAddWatch(fd, w.events, unix.IN_MODIFY); err == nil {
		w.populated = int32(wd)
	}
	return w, nil
}

// watchV1 registers an eventfd for memory.oom_control (cgroup-v1
// memory.txt, "OOM control"), through the descriptor the watch then holds
// to read oom_kill. The registration ends when the eventfd is closed.
func (c *Cgroup) watchV1() (*EventWatch, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	w := &EventWatch{f: os.NewFile(uintptr(efd), "eventfd"), populated: -1, v1: c}
	w.control, err = retryEINTR(func() (int, error) {
		return syscall.Open(filepath.Join(c.Dir, "memory.oom_control"), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	})
	if err != nil {
		w.f.Close()
		return nil, fmt.Errorf("open memory.oom_control: %w", err)
	}
	if kills, err := w.oomKillsV1(); err == nil { // the first read also allocates the file's buffer, now
		w.kills = kills
	}
	reg := strconv.Itoa(efd) + " " + strconv.Itoa(w.control)
	if err := writeExisting(filepath.Join(c.Dir, "cgroup.event_control"), reg); err != nil {
		w.closeControl()
		w.f.Close()
		return nil, fmt.Errorf("register for OOM events: %w", err)
	}
	return w, nil
}

// writeExisting writes text to a file that must exist, as cgroup files do.
func writeExisting(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Wait blocks until the counters may have changed. It returns ErrEmpty
// when the cgroup has emptied, and an error wrapping os.ErrClosed after
// Close.
func (w *EventWatch) Wait() error {
	var buf [4096]byte
	n, err := w.f.Read(buf[:])
	if err != nil {
		w.closeControl() // the watch has ended: no Wait follows
		return fmt.Errorf("wait for memory events: %w", err)
	}
	if w.v1 != nil {
		w.followV1()
		return nil
	}
	if w.populated < 0 {
		return nil
	}
	// struct inotify_event: wd, mask, cookie, len, then len bytes of name.
	for b := buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
		wd, size := int32(binary.NativeEndian.Uint32(b)), binary.NativeEndian.Uint32(b[12:])
		if wd == w.populated && !populated(w.events) {
			return ErrEmpty
		}
		b = b[min(len(b), unix.SizeofInotifyEvent+int(size)):]
	}
	return nil
}

// followV1 polls oom_kill briefly after a v1 wake, until the kill the
// wake announced shows (there is no event for it to await).
func (w *EventWatch) followV1() {
	for end := time.Now().Add(v1KillWait); ; time.Sleep(v1KillPoll) {
		kills, err := w.oomKillsV1()
		if err != nil {
			return
		}
		if kills != w.kills || time.Now().After(end) {
			w.kills = kills
			return
		}
	}
}

// oomKillsV1 reads oom_kill from memory.oom_control through the held
// descriptor, with pread into the watch's own buffer.
func (w *EventWatch) oomKillsV1() (uint64, error) {
	n, err := retryEINTR(func() (int, error) { return syscall.Pread(w.control, w.buf[:], 0) })
	if err != nil {
		return 0, fmt.Errorf("read memory.oom_control: %w", err)
	}
	return keyedValues(w.buf[:n])["oom_kill"], nil
}

func (w *EventWatch) closeControl() {
	if w.v1 != nil && w.control >= 0 {
		_ = syscall.Close(w.control)
		w.control = -1
	}
}

// Close ends the watch and unblocks Wait, which closes the held
// memory.oom_control as it returns.
func (w *EventWatch) Close() error { return w.f.Close() }

// populated reads cgroup.events; an unreadable file counts as populated.
func populated(path string) bool {
	b, err := readFile(path)
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "populated 0" {
			return false
		}
	}
	return true
}
