package procfs

import (
	"bytes"
	"testing"
)

// FuzzParseStat feeds arbitrary stat lines to the parser: it must never
// panic, and what it accepts must be what follows the last ')'.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1 (crinit) S 0 1 1 0 -1 4194560 43593 0 0 0 1453 726\n"))
	f.Add([]byte("11 (node (worker)) S 10 10 1 0\n"))
	f.Add([]byte("42 (a) b (c) R 7 42 1\n"))
	f.Add([]byte("12 (sh) Z 10 10 1 0 -1 4227084 140 0 0 0 3 1\n"))
	f.Add([]byte(") S 1"))
	f.Add([]byte("(x) S 99999999999999999999"))
	f.Fuzz(func(t *testing.T, b []byte) {
		state, ppid, err := parseStat(b)
		if err != nil {
			if state != 0 || ppid != 0 {
				t.Fatalf("parseStat(%q) = %q, %d with error %v", b, state, ppid, err)
			}
			return
		}
		end := bytes.LastIndexByte(b, ')')
		if end < 0 || len(b) < end+4 || b[end+2] != state {
			t.Fatalf("parseStat(%q) = state %q, not the letter after the last ')'", b, state)
		}
		if ppid < 0 || ppid > maxID {
			t.Fatalf("parseStat(%q) = parent PID %d out of range", b, ppid)
		}
	})
}

// FuzzIntScanner feeds arbitrary children files, cut anywhere, to the
// scanner: it must never panic, and every ID it finds is in range.
func FuzzIntScanner(f *testing.F) {
	f.Add([]byte("11 12 1234567 "), 3)
	f.Add([]byte("99999999999999999999 1"), 10)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		if cut < 0 || cut > len(b) {
			cut = len(b)
		}
		var s intScanner
		got := s.end(s.scan(s.scan(nil, b[:cut]), b[cut:]))
		for _, id := range got {
			if id < 0 || id > maxID {
				t.Fatalf("scan(%q) found %d", b, id)
			}
		}
	})
}
