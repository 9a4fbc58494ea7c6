package listen

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string // want "" for an error
		err      string
	}{
		{"tcp://127.0.0.1:3000", "tcp://127.0.0.1:3000", ""},
		{"127.0.0.1:3000", "tcp://127.0.0.1:3000", ""},
		{":3000", "tcp://:3000", ""},
		{"tcp://[::]:3000", "tcp://[::]:3000", ""},
		{"localhost:80", "tcp://localhost:80", ""},
		{"unix:///run/app.sock", "unix:///run/app.sock", ""},
		{"unix:///run/../tmp/app.sock", "unix:///tmp/app.sock", ""},
		{"unix://app.sock", "", "absolute path"},
		{"udp://:53", "", "want tcp://"},
		{"127.0.0.1", "", "want tcp://"},
		{":0", "", "1 to 65535"},
		{":65536", "", "1 to 65535"},
		{":http", "", "1 to 65535"},
		{"a b:80", "", "host"},
		{"", "", "want tcp://"},
	}
	for _, tt := range tests {
		a, err := Parse(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Parse(%q) = %v, %v; want an error containing %q", tt.in, a, err, tt.err)
		case tt.err == "" && (err != nil || a.String() != tt.want):
			t.Errorf("Parse(%q) = %v, %v; want %s", tt.in, a, err, tt.want)
		}
	}
}
