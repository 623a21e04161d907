// Package stats holds the one summary statistic the benchmarks report.
package stats

import "slices"

// Number is what Median can average.
type Number interface {
	~int | ~int32 | ~int64 | ~float32 | ~float64
}

// Median is the middle value of xs, the mean of the two middle values for
// an even count, and zero for none. The median, not the mean, is what the
// benchmarks report: one run slowed by a busy machine does not move it.
// xs is not modified.
func Median[T Number](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}
