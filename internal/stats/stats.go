// Package stats holds the summary statistics the benchmarks report.
package stats

import (
	"math"
	"slices"
)

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

// Percentile is the nearest-rank p-th percentile of xs (0 < p <= 100): the
// smallest value that at least p percent of xs are less than or equal to,
// and zero for none. xs is not modified.
func Percentile[T Number](xs []T, p float64) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// MedianBy is the median of get over items: one figure of a set of
// benchmark runs.
func MedianBy[R any, T Number](items []R, get func(R) T) T {
	xs := make([]T, len(items))
	for i, r := range items {
		xs[i] = get(r)
	}
	return Median(xs)
}
