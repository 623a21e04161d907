package stats

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestMedian(t *testing.T) {
	assert.Equal(t, 0.0, Median([]float64(nil)), "no values")
	assert.Equal(t, 3.0, Median([]float64{5, 1, 3}), "odd count: the middle one")
	assert.Equal(t, 2.5, Median([]float64{4, 1, 3, 2}), "even count: the mean of the middle two")
	assert.Equal(t, 2*time.Second, Median([]time.Duration{3 * time.Second, time.Second, 2 * time.Second}), "durations")
	assert.Equal(t, 1500*time.Millisecond, Median([]time.Duration{time.Second, 2 * time.Second}), "even count of durations")

	in := []int{3, 1, 2}
	Median(in)
	assert.Equal(t, []int{3, 1, 2}, in, "the input is left unsorted")
}

func TestPercentile(t *testing.T) {
	xs := []int{}
	for i := 100; i >= 1; i-- {
		xs = append(xs, i)
	}
	assert.Equal(t, 50, Percentile(xs, 50))
	assert.Equal(t, 99, Percentile(xs, 99))
	assert.Equal(t, 100, Percentile(xs, 100))
	assert.Equal(t, 1, Percentile(xs, 0.1), "the smallest rank is the first value")
	assert.Equal(t, 0, Percentile([]int(nil), 50), "no values")
	assert.Equal(t, 100, xs[0], "xs is not modified")
}

func TestMedianBy(t *testing.T) {
	type run struct{ seconds float64 }
	assert.Equal(t, 2.0, MedianBy([]run{{3}, {1}, {2}}, func(r run) float64 { return r.seconds }))
	assert.Equal(t, 0.0, MedianBy([]run(nil), func(r run) float64 { return r.seconds }))
}
