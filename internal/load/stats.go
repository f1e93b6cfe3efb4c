package load

import (
	"math"
	"slices"
	"time"
)

// Latencies summarises a set of durations.
type Latencies struct {
	N             int
	P50, P99, Max time.Duration
}

// Summarise sorts d in place and returns its median, 99th percentile and
// maximum (nearest rank).
func Summarise(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	slices.Sort(d)
	return Latencies{N: len(d), P50: rank(d, 0.50), P99: rank(d, 0.99), Max: d[len(d)-1]}
}

func rank(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(i, 1), len(sorted))-1]
}
