package limits

import "testing"

func TestAutoHeapMiB(t *testing.T) {
	tests := []struct {
		name     string
		limit    uint64
		fallback uint64
		want     uint64
	}{
		{"512 MiB", 512 << 20, 256, 256},
		{"1 GiB", 1 << 30, 256, 512},
		{"2 GiB", 2 << 30, 256, 1024},
		{"300 MiB", 300 << 20, 256, 150},
		{"odd bytes round down", 513<<20 - 1, 256, 256},
		{"under 2 MiB", 1 << 20, 256, 0},
		{"no limit", 0, 256, 256},
		{"no limit, other fallback", 0, 1024, 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AutoHeapMiB(tt.limit, tt.fallback); got != tt.want {
				t.Errorf("AutoHeapMiB(%d, %d) = %d, want %d", tt.limit, tt.fallback, got, tt.want)
			}
		})
	}
}

func TestAutoRSSLimit(t *testing.T) {
	tests := []struct {
		name     string
		limit    uint64
		fallback Size
		want     Size
	}{
		{"512 MiB", 512 << 20, 300 * MiB, 322122547}, // 307.2 MiB, rounded down to a byte
		{"1 GiB", 1 << 30, 300 * MiB, 644245094},
		{"1000 bytes", 1000, 300 * MiB, 600},
		{"no limit", 0, 300 * MiB, 300 * MiB},
		{"no limit, other fallback", 0, 1 * GiB, 1 * GiB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AutoRSSLimit(tt.limit, tt.fallback); got != tt.want {
				t.Errorf("AutoRSSLimit(%d, %d) = %d, want %d", tt.limit, tt.fallback, got, tt.want)
			}
		})
	}
}

// TestAuto_Order: the heap fits under the RSS limit, which fits under the
// cgroup limit, for any limit.
func TestAuto_Order(t *testing.T) {
	for _, limit := range []uint64{64 << 20, 256 << 20, 512 << 20, 768 << 20, 4 << 30, 64 << 30} {
		heap := AutoHeapMiB(limit, 0) * uint64(MiB)
		rss := uint64(AutoRSSLimit(limit, 0))
		if !(heap < rss && rss < limit) {
			t.Errorf("limit %d: heap %d, rss limit %d; want heap < rss limit < cgroup limit", limit, heap, rss)
		}
	}
}
