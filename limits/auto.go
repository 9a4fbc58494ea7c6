package limits

// Shares of the cgroup limit that "auto" settings take: V8's heap gets half,
// and crinit restarts the tree at 60%, well before the kernel's OOM killer
// acts at 100%. A 512 MiB container gets a 256 MiB heap and a ~307 MiB
// restart threshold.
const (
	autoHeapShare = 0.50
	autoRSSShare  = 0.60
)

// The sizes "auto" takes when there is no cgroup limit to derive them from.
const (
	DefaultHeapMiB  = 256
	DefaultRSSLimit = 300 * MiB
)

// AutoHeapMiB is --max-old-space-size=auto: half the cgroup limit in MiB,
// or fallback when there is no limit.
func AutoHeapMiB(cgroupLimit uint64, fallback uint64) uint64 {
	if cgroupLimit == 0 {
		return fallback
	}
	return uint64(float64(cgroupLimit)*autoHeapShare) / uint64(MiB)
}

// AutoRSSLimit is --rss-limit=auto: 60% of the cgroup limit, or fallback
// when there is no limit.
func AutoRSSLimit(cgroupLimit uint64, fallback Size) Size {
	if cgroupLimit == 0 {
		return fallback
	}
	return Size(float64(cgroupLimit) * autoRSSShare)
}
