package graph

import (
	"math"
)

// SketchError is the relative error of a Sketch's quantiles: a returned
// p50 or p99 is within 1% of a value whose rank is exactly that quantile.
const SketchError = 0.01

// sketchGamma is the bucket growth factor: bucket i holds the values in
// (gamma^(i-1), gamma^i], and its midpoint 2·gamma^i/(gamma+1) is within
// SketchError of every value in it.
var (
	sketchGamma = (1 + SketchError) / (1 - SketchError)
	logGamma    = math.Log(sketchGamma)
)

// Sketch summarises a stream of non-negative values (µs, bytes) in
// logarithmic buckets, so that quantiles keep a bounded relative error
// (SketchError) in bounded memory: about 1,400 buckets cover 1 to 10^12,
// whatever the number of values. The count, sum and maximum are exact.
// The zero value is empty and ready to use.
type Sketch struct {
	zeros  uint64
	offset int      // bucket index of counts[0]
	counts []uint64 // dense from offset
	n      uint64
	sum    float64
	max    float64
}

// Add records one value; negative values count as zero.
func (s *Sketch) Add(v float64) {
	s.n++
	if v > s.max {
		s.max = v
	}
	if v < 1 {
		// Below one unit (µs, byte) there is nothing to resolve.
		s.zeros++
		if v > 0 {
			s.sum += v
		}
		return
	}
	s.sum += v
	i := int(math.Ceil(math.Log(v) / logGamma))
	switch {
	case len(s.counts) == 0:
		s.offset = i
		s.counts = make([]uint64, 1, 16)
	case i < s.offset:
		grow := make([]uint64, s.offset-i+len(s.counts))
		copy(grow[s.offset-i:], s.counts)
		s.counts, s.offset = grow, i
	case i-s.offset >= len(s.counts):
		s.counts = append(s.counts, make([]uint64, i-s.offset-len(s.counts)+1)...)
	}
	s.counts[i-s.offset]++
}

// Merge adds o's values to s.
func (s *Sketch) Merge(o *Sketch) {
	if o.n == 0 {
		return
	}
	s.n += o.n
	s.sum += o.sum
	s.zeros += o.zeros
	s.max = max(s.max, o.max)
	if len(o.counts) == 0 {
		return
	}
	if len(s.counts) == 0 {
		s.offset = o.offset
		s.counts = append([]uint64(nil), o.counts...)
		return
	}
	lo := min(s.offset, o.offset)
	hi := max(s.offset+len(s.counts), o.offset+len(o.counts))
	out := make([]uint64, hi-lo)
	for i, c := range s.counts {
		out[s.offset-lo+i] += c
	}
	for i, c := range o.counts {
		out[o.offset-lo+i] += c
	}
	s.counts, s.offset = out, lo
}

// Count is the number of values added.
func (s *Sketch) Count() uint64 { return s.n }

// Mean is the exact mean, 0 when empty.
func (s *Sketch) Mean() float64 {
	if s.n == 0 {
		return 0
	}
	return s.sum / float64(s.n)
}

// Max is the largest value added.
func (s *Sketch) Max() float64 { return s.max }

// Quantile returns the value at quantile q (0..1) within SketchError of
// the value of rank q·(n-1) among the values added; 0 when empty.
func (s *Sketch) Quantile(q float64) float64 {
	if s.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(q * float64(s.n-1))
	if rank < s.zeros {
		return 0
	}
	seen := s.zeros
	for i, c := range s.counts {
		seen += c
		if seen > rank {
			v := 2 * math.Pow(sketchGamma, float64(s.offset+i)) / (sketchGamma + 1)
			return min(v, s.max)
		}
	}
	return s.max
}
