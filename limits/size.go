package limits

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Size is a number of bytes.
type Size uint64

// Common binary sizes.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
)

// units maps a lower-case unit suffix to its multiplier. Single letters and
// the IEC "i" forms are binary (as in Docker's --memory and pm2's
// max_memory_restart); two-letter SI forms are decimal (as in Kubernetes).
var units = map[string]uint64{
	"":    1,
	"b":   1,
	"k":   uint64(KiB),
	"kib": uint64(KiB),
	"kb":  1e3,
	"m":   uint64(MiB),
	"mib": uint64(MiB),
	"mb":  1e6,
	"g":   uint64(GiB),
	"gib": uint64(GiB),
	"gb":  1e9,
	"t":   uint64(TiB),
	"tib": uint64(TiB),
	"tb":  1e12,
}

// ErrSizeSyntax is wrapped by every ParseSize error.
var ErrSizeSyntax = errors.New("invalid size")

// ParseSize reads a size such as "300MiB", "300MB", "300M", "1.5GiB" or
// "314572800" (bytes). Units are case-insensitive; fractions are rounded
// down to a whole byte.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.')
	})
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" {
		if strings.HasPrefix(t, "-") {
			return 0, fmt.Errorf("%w %q: must not be negative", ErrSizeSyntax, s)
		}
		return 0, fmt.Errorf("%w %q: want a number with an optional unit (B, KiB, MiB, GiB, KB, MB, GB, K, M, G)", ErrSizeSyntax, s)
	}
	mult, ok := units[unit]
	if !ok {
		return 0, fmt.Errorf("%w %q: unknown unit %q (want B, KiB, MiB, GiB, TiB, KB, MB, GB, TB, K, M, G or T)", ErrSizeSyntax, s, t[i:])
	}
	// Exact decimal arithmetic: 1.001KB is 1001 bytes, not 1000.999...
	r, ok := new(big.Rat).SetString(num)
	if !ok || strings.Count(num, ".") > 1 {
		return 0, fmt.Errorf("%w %q: bad number %q", ErrSizeSyntax, s, num)
	}
	r.Mul(r, new(big.Rat).SetUint64(mult))
	b := new(big.Int).Quo(r.Num(), r.Denom()) // both positive: rounds down
	if !b.IsUint64() {
		return 0, fmt.Errorf("%w %q: out of range", ErrSizeSyntax, s)
	}
	return Size(b.Uint64()), nil
}

// String prints the size in the largest binary unit that divides it, so
// that it reads back through ParseSize to the same value.
func (s Size) String() string {
	for _, u := range []struct {
		name string
		size Size
	}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if s >= u.size && s%u.size == 0 {
			return strconv.FormatUint(uint64(s/u.size), 10) + u.name
		}
	}
	return strconv.FormatUint(uint64(s), 10) + "B"
}
