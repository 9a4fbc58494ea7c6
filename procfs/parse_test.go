package procfs

import (
	"slices"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		state   byte
		ppid    int
		wantErr bool
	}{
		{"plain", "1 (crinit) S 0 1 1 0 -1 4194560 43593\n", 'S', 0, false},
		{"comm with spaces and parentheses", "11 (node (worker)) S 10 10 1 0\n", 'S', 10, false},
		{"comm a) b (c", "42 (a) b (c) R 7 42 1\n", 'R', 7, false},
		{"comm ending in ) then space", "42 () ) Z 9 42\n", 'Z', 9, false},
		{"empty comm", "5 () D 4 5\n", 'D', 4, false},
		{"no trailing newline", "5 (x) T 3", 'T', 3, false},
		{"large ppid", "5 (x) S 4194304 5", 'S', 4194304, false},
		{"empty", "", 0, 0, true},
		{"no parentheses", "5 x S 4 5", 0, 0, true},
		{"no opening parenthesis", "5 x) S 4 5", 0, 0, true},
		{"cut after comm", "5 (x)", 0, 0, true},
		{"cut after state", "5 (x) S", 0, 0, true},
		{"cut after state and space", "5 (x) S ", 0, 0, true},
		{"two-letter state", "5 (x) SS 4 5", 0, 0, true},
		{"no space after comm", "5 (x)S 4 5", 0, 0, true},
		{"ppid not a number", "5 (x) S four 5", 0, 0, true},
		{"negative ppid", "5 (x) S -1 5", 0, 0, true},
		{"ppid too large", "5 (x) S 99999999999999999999 5", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, ppid, err := parseStat([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStat(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if state != tt.state || ppid != tt.ppid {
				t.Errorf("parseStat(%q) = %q, %d; want %q, %d", tt.in, state, ppid, tt.state, tt.ppid)
			}
		})
	}
}

func TestParseLoadavg(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"0.00 0.01 0.05 1/123 4567\n", 4567, false},
		{"1.50 1.20 0.90 3/87 1", 1, false},
		{"0.00 0.01 0.05 1/123\n", 0, true},
		{"0.00 0.01 0.05 1/123 x\n", 0, true},
		{"0.00 0.01 0.05 1/123 99999999999\n", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := parseLoadavg([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseLoadavg(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseStatm(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Statm
		wantErr bool
	}{
		{"node", "90000 5000 1000 10 0 4000 0\n", Statm{90000, 5000, 1000}, false},
		{"zombie", "0 0 0 0 0 0 0\n", Statm{}, false},
		{"three fields", "3 2 1", Statm{3, 2, 1}, false},
		{"extra spaces", "  3  2\t1\n", Statm{3, 2, 1}, false},
		{"empty", "", Statm{}, true},
		{"two fields", "1 2\n", Statm{}, true},
		{"not a number", "1 x 2 3", Statm{}, true},
		{"overflow", "1 18446744073709551616 2", Statm{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatm([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStatm(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseStatm(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseNofile(t *testing.T) {
	const header = "Limit                     Soft Limit           Hard Limit           Units     \n"
	tests := []struct {
		name string
		in   string
		want uint64
	}{
		{"soft limit", header + "Max processes             62844                62844                processes \n" +
			"Max open files            1024                 524288               files     \n", 1024},
		{"last line without newline", header + "Max open files            65536                65536                files", 65536},
		{"unlimited", header + "Max open files            unlimited            unlimited            files     \n", 0},
		{"missing", header + "Max processes             62844                62844                processes \n", 0},
		{"empty", "", 0},
		{"no value", "Max open files\n", 0},
		{"garbage value", "Max open files            12ab                 1                    files\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseNofile([]byte(tt.in)); got != tt.want {
				t.Errorf("parseNofile(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitNUL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"cmdline", "node\x00--max-old-space-size=256\x00server.js\x00", []string{"node", "--max-old-space-size=256", "server.js"}},
		{"environ", "PATH=/usr/bin\x00HOME=/\x00", []string{"PATH=/usr/bin", "HOME=/"}},
		{"empty argument kept", "node\x00app.js\x00\x00", []string{"node", "app.js", ""}},
		{"rewritten argv without NUL", "nginx: master process", []string{"nginx: master process"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitNUL([]byte(tt.in)); !slices.Equal(got, tt.want) {
				t.Errorf("splitNUL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"1", 1, true},
		{"4194304", 4194304, true},
		{"2147483647", 2147483647, true},
		{"2147483648", 0, false},
		{"99999999999999999999999", 0, false},
		{"", 0, false},
		{"self", 0, false},
		{"12a", 0, false},
		{"-1", 0, false},
	}
	for _, tt := range tests {
		if got, ok := parseID([]byte(tt.in)); got != tt.want || ok != tt.ok {
			t.Errorf("parseID(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestIntScanner reads children files cut into two pieces at every
// position: a number cut at the edge must come out whole.
func TestIntScanner(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []int
	}{
		{"children", "11 12 1234567 ", []int{11, 12, 1234567}},
		{"no trailing space", "11 12", []int{11, 12}},
		{"newlines and tabs", "11\n12\t13\n", []int{11, 12, 13}},
		{"empty", "", nil},
		{"spaces only", "   ", nil},
		{"garbage skipped", "11 x1 1x 12 ", []int{11, 12}},
		{"too large skipped", "11 99999999999999999999 12", []int{11, 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for cut := 0; cut <= len(tt.in); cut++ {
				var s intScanner
				got := s.scan(nil, []byte(tt.in[:cut]))
				got = s.end(s.scan(got, []byte(tt.in[cut:])))
				if !slices.Equal(got, tt.want) {
					t.Errorf("%q cut at %d = %v, want %v", tt.in, cut, got, tt.want)
				}
			}
		})
	}
}

func TestParseStatFlags(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		state byte
		flags uint64
		err   bool
	}{
		{"running", "42 (node) R 1 42 42 0 -1 4194560 100 0 0 0", 'R', 4194560, false},
		{"exiting", "42 (node (x)) D 1 42 42 0 -1 4194564 0 0", 'D', 4194564, false},
		{"truncated", "42 (node) S 1 42 42", 0, 0, true},
		{"garbled flags", "42 (node) S 1 42 42 0 -1 abc 0", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, flags, err := parseStatFlags([]byte(tt.in))
			if (err != nil) != tt.err || state != tt.state || flags != tt.flags {
				t.Errorf("parseStatFlags(%q) = %c, %d, %v; want %c, %d, error %v", tt.in, state, flags, err, tt.state, tt.flags, tt.err)
			}
		})
	}
}

func TestSigkillPending(t *testing.T) {
	tests := []struct {
		name, in string
		want     bool
	}{
		{"shared", "Name:\tnode\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000100\n", true},
		{"thread", "SigPnd:\t0000000000000100\nShdPnd:\t0000000000000000\n", true},
		{"SIGTERM only", "SigPnd:\t0000000000004000\nShdPnd:\t0000000000004000\n", false},
		{"none", "SigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n", false},
		{"garbled", "ShdPnd:\tzz\n", false},
	}
	for _, tt := range tests {
		if got := sigkillPending([]byte(tt.in)); got != tt.want {
			t.Errorf("%s: sigkillPending = %v, want %v", tt.name, got, tt.want)
		}
	}
}
