package supervisor

import (
	"encoding/binary"
	"syscall"
)

// The sampler reads a few small /proc files per process every tick. These
// readers go straight to the system calls with one reusable buffer: no
// os.File, no poller registration, no allocation per read. At 50
// processes a second that is most of crinit's idle CPU.

// procBuf is the sampler's scratch buffer; /proc/PID/{statm,limits,task/*/children}
// fit in it (longer content is cut, which the parsers tolerate).
type procBuf [8192]byte

// read returns the start of path's content, up to len(b).
func (b *procBuf) read(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	n := 0
	for n < len(b) {
		m, err := syscall.Read(fd, b[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return b[:n], nil
}

// countEntries counts a directory's entries other than . and .., or -1
// when it cannot be read.
func (b *procBuf) countEntries(dir string) int {
	n, _ := b.entries(dir, nil)
	return n
}

// numericEntries appends the numeric names in dir (thread IDs in
// /proc/PID/task) to ids; ok is false when dir cannot be read.
func (b *procBuf) numericEntries(dir string, ids []int) ([]int, bool) {
	var got []int
	n, _ := b.entries(dir, func(name []byte) {
		id := 0
		for _, c := range name {
			if c < '0' || c > '9' {
				return
			}
			id = id*10 + int(c-'0')
		}
		got = append(got, id)
	})
	return append(ids, got...), n >= 0
}

// entries counts dir's entries other than . and .., calling each (when not
// nil) with every name; -1 when dir cannot be read.
func (b *procBuf) entries(dir string, each func(name []byte)) (int, error) {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer syscall.Close(fd)
	count := 0
	for {
		n, err := syscall.Getdents(fd, b[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, err
		}
		if n <= 0 {
			return count, nil
		}
		// linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
		for rec := b[:n]; len(rec) >= 20; {
			reclen := int(binary.NativeEndian.Uint16(rec[16:18]))
			if reclen < 20 || reclen > len(rec) {
				break
			}
			name := rec[19:reclen]
			if end := bytesIndexZero(name); end >= 0 {
				name = name[:end]
			}
			if string(name) != "." && string(name) != ".." {
				count++
				if each != nil {
					each(name)
				}
			}
			rec = rec[reclen:]
		}
	}
}

// bytesIndexZero is the index of the first NUL in b, or -1.
func bytesIndexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}
