package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parsers of proc(5) files: pure functions over the bytes read, so that
// tables of inputs test them without a procfs.

// maxID bounds a process or thread ID; the kernel's PID_MAX_LIMIT is far
// below it. Larger numbers are not IDs (and would overflow).
const maxID = math.MaxInt32

// parseID reads a directory name or a field as a process or thread ID.
func parseID(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > maxID {
			return 0, false
		}
	}
	return n, true
}

// intScanner reads whitespace-separated IDs from a stream of pieces: a
// number cut at a piece's edge goes on in the next piece. A field that is
// not a number, or is too large for an ID, is skipped.
type intScanner struct {
	n      int
	inNum  bool // in a field
	broken bool // the current field is not an ID
}

// scan appends the IDs that end in b to dst.
func (s *intScanner) scan(dst []int, b []byte) []int {
	for _, c := range b {
		switch {
		case c == ' ' || c == '\n' || c == '\t':
			dst = s.end(dst)
		case c >= '0' && c <= '9' && !s.broken:
			s.n = s.n*10 + int(c-'0')
			s.inNum = true
			s.broken = s.n > maxID
		default:
			s.inNum, s.broken = true, true
		}
	}
	return dst
}

// end finishes the current field, appending it to dst when it is an ID.
func (s *intScanner) end(dst []int) []int {
	if s.inNum && !s.broken {
		dst = append(dst, s.n)
	}
	*s = intScanner{}
	return dst
}

var errStatFormat = errors.New("malformed stat")

// parseStat reads the state letter and the parent PID of proc(5)'s
// /proc/PID/stat: "PID (COMM) STATE PPID ...". COMM may hold spaces and
// parentheses of its own, so the fields start after the last ')'.
func parseStat(b []byte) (state byte, ppid int, err error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 || bytes.IndexByte(b[:end], '(') < 0 {
		return 0, 0, errStatFormat
	}
	rest := b[end+1:]
	// " S 1 ..."
	if len(rest) < 4 || rest[0] != ' ' || rest[2] != ' ' {
		return 0, 0, errStatFormat
	}
	state = rest[1]
	f, _ := field(rest[3:])
	ppid, ok := parseID(f)
	if !ok {
		return 0, 0, fmt.Errorf("%w: parent PID %q", errStatFormat, f)
	}
	return state, ppid, nil
}

// parseStatm reads the first three fields of proc(5)'s statm (size,
// resident, shared; in pages).
func parseStatm(b []byte) (Statm, error) {
	var v [3]uint64
	rest := b
	for i := range v {
		var f []byte
		f, rest = field(rest)
		n, ok := parseUint(f)
		if !ok {
			return Statm{}, fmt.Errorf("malformed statm: field %d is %q", i+1, f)
		}
		v[i] = n
	}
	return Statm{Size: v[0], Resident: v[1], Shared: v[2]}, nil
}

// nofilePrefix starts the line of RLIMIT_NOFILE in proc(5)'s limits.
const nofilePrefix = "Max open files"

// parseNofile reads the soft "Max open files" limit of proc(5)'s limits;
// 0 when the line is missing, "unlimited" or malformed.
func parseNofile(b []byte) uint64 {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if rest, ok := bytes.CutPrefix(line, []byte(nofilePrefix)); ok {
			f, _ := field(rest)
			n, _ := parseUint(f) // "unlimited" is not a number: 0
			return n
		}
	}
	return 0
}

// splitNUL splits a NUL-terminated list (cmdline, environ) into its
// strings; an empty file is an empty list. A last string without its NUL
// (a process that rewrote its argv) is kept.
func splitNUL(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(b), "\x00")
	return strings.Split(s, "\x00")
}

// field splits off b's first field, fields separated by spaces, tabs or
// newlines.
func field(b []byte) (f, rest []byte) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	j := i
	for j < len(b) && !isSpace(b[j]) {
		j++
	}
	return b[i:j], b[j:]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

// parseUint reads a decimal number; false when b is empty, not a number or
// too large for uint64.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// pfExiting is the kernel's PF_EXITING task flag: the process is in exit.
const pfExiting = 0x4

// parseStatFlags reads the state letter and the kernel flags (field 9) of
// /proc/PID/stat.
func parseStatFlags(b []byte) (state byte, flags uint64, err error) {
	state, _, err = parseStat(b)
	if err != nil {
		return 0, 0, err
	}
	rest := b[bytes.LastIndexByte(b, ')')+3:] // after ") S"
	var f []byte
	for range 6 { // ppid pgrp session tty_nr tpgid flags
		f, rest = field(rest)
	}
	flags, ok := parseUint(f)
	if !ok {
		return 0, 0, fmt.Errorf("%w: flags %q", errStatFormat, f)
	}
	return state, flags, nil
}

// sigkillPending reads proc(5)'s status and reports whether SIGKILL waits
// in the process's shared (ShdPnd) or its main thread's (SigPnd) pending
// set, hexadecimal masks where signal N is bit N-1.
func sigkillPending(b []byte) bool {
	for _, key := range []string{"ShdPnd:", "SigPnd:"} {
		i := bytes.Index(b, []byte(key))
		if i < 0 {
			continue
		}
		f, _ := field(b[i+len(key):])
		mask, err := strconv.ParseUint(string(f), 16, 64)
		if err == nil && mask&(1<<(9-1)) != 0 {
			return true
		}
	}
	return false
}

// parseLoadavg is the last field of /proc/loadavg: the PID most recently
// allocated in the reader's PID namespace ("0.00 0.01 0.05 1/123 4567").
func parseLoadavg(b []byte) (int, error) {
	b = bytes.TrimRight(b, " \n")
	if bytes.Count(b, []byte{' '}) != 4 {
		return 0, fmt.Errorf("loadavg %q: want 5 fields", b)
	}
	last := b[bytes.LastIndexByte(b, ' ')+1:]
	pid, ok := parseID(last)
	if !ok {
		return 0, fmt.Errorf("loadavg: last PID %q is not a number", last)
	}
	return pid, nil
}
