package limits

import (
	"testing"
)

// FuzzParseThreshold reads percentages and amounts: nothing panics, and a
// parsed percentage is in (0, 100].
func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"80%", "95.5%", "0", "300MiB", "NaN%", "-1%", "1e3%", " 50 % "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThreshold(s, func(v string) (uint64, error) {
			size, err := ParseSize(v)
			return uint64(size), err
		})
		if err != nil {
			return
		}
		if th.Percent != 0 && !(th.Percent > 0 && th.Percent <= 100) {
			t.Fatalf("ParseThreshold(%q) = %v%%, outside (0, 100]", s, th.Percent)
		}
		if th.Percent > 0 && th.Of(1000) > 1000 {
			t.Fatalf("ParseThreshold(%q).Of(1000) = %d", s, th.Of(1000))
		}
	})
}
