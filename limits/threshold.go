package limits

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Threshold is a bound given either as a share of some other limit ("80%")
// or as an absolute amount.
type Threshold struct {
	Percent float64 // > 0 when given as a share
	Amount  uint64  // the absolute amount otherwise; 0 with Percent 0 is off
}

// Off reports whether the threshold is disabled (0).
func (t Threshold) Off() bool { return t.Percent == 0 && t.Amount == 0 }

// Of resolves the threshold against limit: the share of it, or the amount.
func (t Threshold) Of(limit uint64) uint64 {
	if t.Percent > 0 {
		return uint64(float64(limit) * t.Percent / 100)
	}
	return t.Amount
}

// String prints the threshold as it would be written.
func (t Threshold) String() string {
	if t.Percent > 0 {
		return strconv.FormatFloat(t.Percent, 'f', -1, 64) + "%"
	}
	return strconv.FormatUint(t.Amount, 10)
}

// ParseThreshold reads "80%" (0 to 100, exclusive of 0) or an absolute
// amount read by amount (a count or a size).
func ParseThreshold(s string, amount func(string) (uint64, error)) (Threshold, error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(f > 0 && f <= 100) { // also refuses NaN
			return Threshold{}, errors.New("a percentage must be above 0% and at most 100%")
		}
		return Threshold{Percent: f}, nil
	}
	n, err := amount(t)
	if err != nil {
		return Threshold{}, fmt.Errorf("want a percentage such as 80%% or %w", err)
	}
	return Threshold{Amount: n}, nil
}
