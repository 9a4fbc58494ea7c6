package procfs

import (
	"encoding/binary"
	"syscall"
	"unsafe"
)

// The sampler reads a few small files per process every tick. These readers
// go straight to the system calls with the FS's path and read buffers: no
// os.File, no poller registration, no allocation per read. At 50 processes
// a second that is most of crinit's idle CPU.

// atFDCWD is AT_FDCWD (-100) as openat(2) takes it.
const atFDCWD = ^uintptr(99)

// open opens fs.path, which must be NUL-terminated, retrying on EINTR.
// syscall.Open would copy the path into a new allocation on every call.
func (fs *FS) open(flags int) (int, error) {
	p := unsafe.Pointer(&fs.path[0])
	for {
		fd, _, errno := syscall.Syscall6(syscall.SYS_OPENAT, atFDCWD, uintptr(p),
			uintptr(flags|syscall.O_RDONLY|syscall.O_CLOEXEC), 0, 0, 0)
		switch errno {
		case 0:
			return int(fd), nil
		case syscall.EINTR:
			continue
		}
		return -1, errno
	}
}

// exists reports whether fs.path can be opened as a directory.
func (fs *FS) exists() bool {
	fd, err := fs.open(syscall.O_DIRECTORY)
	if err != nil {
		return false
	}
	syscall.Close(fd)
	return true
}

// statPath is stat(2) of fs.path.
func (fs *FS) statPath() (syscall.Stat_t, error) {
	var st syscall.Stat_t
	p := unsafe.Pointer(&fs.path[0])
	for {
		_, _, errno := syscall.Syscall6(sysFstatat, atFDCWD, uintptr(p), uintptr(unsafe.Pointer(&st)), 0, 0, 0)
		switch errno {
		case 0:
			return st, nil
		case syscall.EINTR:
			continue
		}
		return st, errno
	}
}

// read returns the start of fs.path's content, up to the buffer's size.
func (fs *FS) read() ([]byte, error) {
	fd, err := fs.open(0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	b := fs.buf[:]
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

// readInts appends the space-separated decimal numbers of fs.path (a
// children file) to dst. It reads in pieces, so a file longer than the
// buffer loses no number at a piece's edge.
func (fs *FS) readInts(dst []int) ([]int, error) {
	fd, err := fs.open(0)
	if err != nil {
		return dst, err
	}
	defer syscall.Close(fd)
	var ints intScanner
	for {
		n, err := syscall.Read(fd, fs.buf[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return dst, err
		}
		if n <= 0 {
			return ints.end(dst), nil
		}
		dst = ints.scan(dst, fs.buf[:n])
	}
}

// countEntries counts the entries of directory fs.path other than . and
// .., or -1 when it cannot be read.
func (fs *FS) countEntries() int {
	n := 0
	if err := fs.entries(func([]byte) { n++ }); err != nil {
		return -1
	}
	return n
}

// appendNumeric appends the numeric names in directory fs.path (process or
// thread IDs) to dst.
func (fs *FS) appendNumeric(dst []int) ([]int, error) {
	err := fs.entries(func(name []byte) {
		if id, ok := parseID(name); ok {
			dst = append(dst, id)
		}
	})
	return dst, err
}

// entries calls each with the name of every entry of directory fs.path
// other than . and .., the name valid only during the call.
func (fs *FS) entries(each func(name []byte)) error {
	fd, err := fs.open(syscall.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	for {
		n, err := syscall.Getdents(fd, fs.buf[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		direntNames(fs.buf[:n], each)
	}
}

// direntNames calls each with the names of the linux_dirent64 records in
// b (ino 8 bytes, off 8, reclen 2, type 1, then the NUL-terminated name),
// leaving out . and ...
func direntNames(b []byte, each func(name []byte)) {
	for len(b) >= 20 {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < 20 || reclen > len(b) {
			return
		}
		name := b[19:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if string(name) != "." && string(name) != ".." {
			each(name)
		}
		b = b[reclen:]
	}
}
