package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a log-linear latency histogram in nanoseconds: 32 linear
// sub-buckets per power of two, so a reported percentile is within about 3%
// of the true value. Record is safe for concurrent use and does not
// allocate.
type hist struct {
	counts [64 * subBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

const (
	subBits    = 5
	subBuckets = 1 << subBits
)

// bucketOf maps a value to its bucket index.
func bucketOf(v int64) int {
	if v < subBuckets {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	k := bits.Len64(uint64(v)) - 1 // v in [2^k, 2^(k+1))
	shift := k - subBits
	return (shift+1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < subBuckets {
		return int64(i), int64(i)
	}
	shift := i/subBuckets - 1
	m := int64(i%subBuckets + subBuckets)
	return m << shift, (m+1)<<shift - 1
}

// Record adds one sample.
func (h *hist) Record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns the number of samples.
func (h *hist) Count() uint64 { return h.n.Load() }

// Max returns the largest sample.
func (h *hist) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the q-quantile (0 < q <= 1), as the midpoint of its
// bucket, capped at the largest sample; 0 without samples.
func (h *hist) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := bucketRange(i)
			mid := lo + (hi-lo)/2
			if m := h.max.Load(); mid > m {
				mid = m
			}
			return time.Duration(mid)
		}
	}
	return h.Max()
}
