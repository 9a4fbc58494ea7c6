package limits

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// count is a count parser like crinit's --fd-warn uses.
func count(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errors.New("a whole number")
	}
	return n, nil
}

// size is a size parser like crinit's --rss-warn uses.
func size(s string) (uint64, error) {
	n, err := ParseSize(s)
	return uint64(n), err
}

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		in     string
		amount func(string) (uint64, error)
		want   Threshold
		off    bool
	}{
		{"80%", count, Threshold{Percent: 80}, false},
		{"95.5%", count, Threshold{Percent: 95.5}, false},
		{"100%", count, Threshold{Percent: 100}, false},
		{"0.5%", count, Threshold{Percent: 0.5}, false},
		{" 80 % ", count, Threshold{Percent: 80}, false},
		{"80%", size, Threshold{Percent: 80}, false},
		{"500", count, Threshold{Amount: 500}, false},
		{" 500 ", count, Threshold{Amount: 500}, false},
		{"0", count, Threshold{}, true},
		{"300MiB", size, Threshold{Amount: 300 << 20}, false},
		{"1.5GiB", size, Threshold{Amount: 3 << 29}, false},
		{"4096", size, Threshold{Amount: 4096}, false},
		{"0", size, Threshold{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseThreshold(tt.in, tt.amount)
			if err != nil {
				t.Fatalf("ParseThreshold(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseThreshold(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if got.Off() != tt.off {
				t.Errorf("ParseThreshold(%q).Off() = %v, want %v", tt.in, got.Off(), tt.off)
			}
		})
	}
}

func TestParseThreshold_Invalid(t *testing.T) {
	tests := []struct {
		in     string
		amount func(string) (uint64, error)
		want   string // in the error
	}{
		{"0%", count, "above 0%"},
		{"0.0%", count, "above 0%"},
		{"-5%", count, "above 0%"},
		{"101%", count, "at most 100%"},
		{"100.01%", count, "at most 100%"},
		{"abc%", count, "percentage"},
		{"%", count, "percentage"},
		{"80%%", count, "percentage"},
		{"Inf%", count, "percentage"},
		{"NaN%", count, "percentage"},
		{"nan%", size, "percentage"},
		{"abc", count, "a whole number"},
		{"-1", count, "a whole number"},
		{"1.5", count, "a whole number"},
		{"", count, "a whole number"},
		{"lots", size, "invalid size"},
		{"300MiB", count, "a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseThreshold(tt.in, tt.amount)
			if err == nil {
				t.Fatalf("ParseThreshold(%q) = %#v (Off %v), want an error", tt.in, got, got.Off())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseThreshold(%q) error %q does not say %q", tt.in, err, tt.want)
			}
			if got != (Threshold{}) {
				t.Errorf("ParseThreshold(%q) = %#v with its error, want the zero Threshold", tt.in, got)
			}
		})
	}
}

func TestThreshold_Of(t *testing.T) {
	tests := []struct {
		name  string
		t     Threshold
		limit uint64
		want  uint64
	}{
		{"80% of 1000", Threshold{Percent: 80}, 1000, 800},
		{"95% of 1024 rounds down", Threshold{Percent: 95}, 1024, 972},
		{"95.5% of 1000", Threshold{Percent: 95.5}, 1000, 955},
		{"100% of 300 MiB", Threshold{Percent: 100}, 300 << 20, 300 << 20},
		{"80% of 300 MiB", Threshold{Percent: 80}, 300 << 20, 251658240},
		{"50% of nothing", Threshold{Percent: 50}, 0, 0},
		{"amount ignores the limit", Threshold{Amount: 500}, 1 << 20, 500},
		{"amount over the limit", Threshold{Amount: 500}, 100, 500},
		{"off", Threshold{}, 1000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.t.Of(tt.limit); got != tt.want {
				t.Errorf("%#v.Of(%d) = %d, want %d", tt.t, tt.limit, got, tt.want)
			}
		})
	}
}

func TestThreshold_String(t *testing.T) {
	for _, s := range []string{"80%", "95.5%", "0.5%", "100%", "33.333%", "500", "314572800", "0"} {
		t.Run(s, func(t *testing.T) {
			th, err := ParseThreshold(s, count)
			if err != nil {
				t.Fatal(err)
			}
			if got := th.String(); got != s {
				t.Errorf("ParseThreshold(%q).String() = %q", s, got)
			}
			again, err := ParseThreshold(th.String(), count)
			if err != nil || again != th {
				t.Errorf("round trip of %q: %#v, %v; want %#v", s, again, err, th)
			}
		})
	}
	t.Run("size prints as bytes", func(t *testing.T) {
		th, err := ParseThreshold("300MiB", size)
		if err != nil {
			t.Fatal(err)
		}
		if got := th.String(); got != "314572800" {
			t.Errorf("String() = %q, want 314572800", got)
		}
		if again, err := ParseThreshold(th.String(), size); err != nil || again != th {
			t.Errorf("round trip: %#v, %v; want %#v", again, err, th)
		}
	})
}
