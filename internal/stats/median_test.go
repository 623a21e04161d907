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
