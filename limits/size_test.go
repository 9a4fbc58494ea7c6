package limits

import (
	"errors"
	"math"
	"testing"
)

func TestParseSize_Units(t *testing.T) {
	tests := []struct {
		in   string
		want Size
	}{
		// Bare numbers and B are bytes.
		{"314572800", 314572800},
		{"0", 0},
		{"1B", 1},
		{"1b", 1},
		{"18446744073709551615", math.MaxUint64},
		{"18446744073709551615B", math.MaxUint64},
		// Single letters are binary.
		{"1K", 1 << 10},
		{"1k", 1 << 10},
		{"300M", 300 << 20},
		{"300m", 300 << 20},
		{"2G", 2 << 30},
		{"2g", 2 << 30},
		{"3T", 3 << 40},
		{"3t", 3 << 40},
		// IEC forms are binary, in any case.
		{"1KiB", 1 << 10},
		{"1kib", 1 << 10},
		{"1KIB", 1 << 10},
		{"300MiB", 300 << 20},
		{"300mib", 300 << 20},
		{"2GiB", 2 << 30},
		{"2GIB", 2 << 30},
		{"3TiB", 3 << 40},
		{"3tib", 3 << 40},
		{"16777215TiB", 16777215 << 40},
		// Two-letter SI forms are decimal.
		{"1KB", 1000},
		{"1kb", 1000},
		{"300MB", 300_000_000},
		{"300mb", 300_000_000},
		{"2GB", 2_000_000_000},
		{"2gb", 2_000_000_000},
		{"3TB", 3_000_000_000_000},
		{"3tb", 3_000_000_000_000},
		// Spaces around the number and between number and unit.
		{"300 MiB", 300 << 20},
		{"  300MiB  ", 300 << 20},
		{"300\tMiB", 300 << 20},
		{" 42 ", 42},
		// Fractions, rounded down to a whole byte.
		{"1.5GiB", 3 << 29},
		{"1.5G", 3 << 29},
		{"0.5KiB", 512},
		{".5KiB", 512},
		{"1.KiB", 1024},
		{"1.5B", 1},
		{"0.1KiB", 102},
		{"2.5MB", 2_500_000},
		{"1.5TB", 1_500_000_000_000},
		// Decimal fractions are exact, not float products.
		{"1.001KB", 1001},
		{"1.003KB", 1003},
		{"1.001MB", 1_001_000},
		{"2.3KB", 2300},
		{"0.000001MB", 1},
		{"18446744073709551615.9", math.MaxUint64},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if err != nil {
				t.Fatalf("ParseSize(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseSize(%q) = %d, want %d", tt.in, uint64(got), uint64(tt.want))
			}
		})
	}
}

func TestParseSize_Invalid(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"only spaces", "   "},
		{"letters", "abc"},
		{"unit only", "MiB"},
		{"negative", "-1"},
		{"negative with unit", "-5MiB"},
		{"negative fraction", "-1.5GiB"},
		{"unknown unit", "10XB"},
		{"unknown long unit", "10 megabytes"},
		{"two dots", "1.2.3M"},
		{"dot only", "."},
		{"exponent", "1e3"},
		{"overflow bytes", "99999999999999999999"},
		{"overflow unit", "20000000TiB"},
		{"overflow just past max", "16777216TiB"},
		{"overflow fraction", "16777216.5TiB"},
		{"hex", "0x10"},
		{"embedded space in number", "1 0MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if err == nil {
				t.Fatalf("ParseSize(%q) = %d, want an error", tt.in, uint64(got))
			}
			if !errors.Is(err, ErrSizeSyntax) {
				t.Errorf("ParseSize(%q) error %v does not wrap ErrSizeSyntax", tt.in, err)
			}
			if got != 0 {
				t.Errorf("ParseSize(%q) = %d alongside an error, want 0", tt.in, uint64(got))
			}
		})
	}
}

func TestSize_String(t *testing.T) {
	tests := []struct {
		size Size
		want string
	}{
		{0, "0B"},
		{1, "1B"},
		{1023, "1023B"},
		{KiB, "1KiB"},
		{1536, "1536B"},
		{1000, "1000B"},
		{300 * MiB, "300MiB"},
		{1024 * MiB, "1GiB"},
		{3 * GiB / 2, "1536MiB"},
		{TiB, "1TiB"},
		{1024 * TiB, "1024TiB"},
		{math.MaxUint64, "18446744073709551615B"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.size.String(); got != tt.want {
				t.Errorf("Size(%d).String() = %q, want %q", uint64(tt.size), got, tt.want)
			}
			back, err := ParseSize(tt.size.String())
			if err != nil {
				t.Fatalf("ParseSize(%q) error: %v", tt.size.String(), err)
			}
			if back != tt.size {
				t.Errorf("ParseSize(%q) = %d, want %d", tt.size.String(), uint64(back), uint64(tt.size))
			}
		})
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{
		"0", "314572800", "300MiB", "300 MiB", "1.5GiB", "2.5MB", "3T",
		"1KB", "-1", "10XB", "1.2.3M", "99999999999999999999", "20000000TiB",
		"18446744073709551615", ".5k", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		size, err := ParseSize(s)
		if err != nil {
			if !errors.Is(err, ErrSizeSyntax) {
				t.Fatalf("ParseSize(%q) error %v does not wrap ErrSizeSyntax", s, err)
			}
			return
		}
		str := size.String()
		back, err := ParseSize(str)
		if err != nil {
			t.Fatalf("ParseSize(%q) = %d, but its String %q does not parse: %v", s, uint64(size), str, err)
		}
		if back != size {
			t.Fatalf("ParseSize(%q) = %d, String %q parses back to %d", s, uint64(size), str, uint64(back))
		}
	})
}
