package main

import "testing"

// FuzzParseDuration: no input panics, and an accepted one is never
// negative.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"10s", "1m30s", "-1s", "500ms", "", "soon", "9999999999h", " 2s "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("parseDuration(%q) = %v, negative", s, d)
		}
	})
}

// FuzzParseHeapMiB: a bare number is MiB; anything accepted with a unit is
// a whole number of MiB.
func FuzzParseHeapMiB(f *testing.F) {
	for _, s := range []string{"256", "256MiB", "1GiB", "1.5MiB", "0", "auto", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseHeapMiB(s) // must not panic
	})
}

// FuzzSplitCommand: everything after the first "--" is the command,
// untouched.
func FuzzSplitCommand(f *testing.F) {
	f.Add("crinit", "--nofile", "10", "--", "node")
	f.Add("crinit", "--", "--", "-x", "")
	f.Fuzz(func(t *testing.T, a, b, c, d, e string) {
		args := []string{a, b, c, d, e}
		flags, command := splitCommand(args)
		if len(flags)+len(command) != len(args)-boolInt(command != nil) {
			t.Fatalf("splitCommand(%q) = %q, %q: arguments lost", args, flags, command)
		}
		for i, x := range command {
			if args[len(flags)+1+i] != x {
				t.Fatalf("splitCommand(%q) changed the command: %q", args, command)
			}
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
