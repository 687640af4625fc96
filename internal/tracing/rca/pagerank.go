package rca

import (
	"math"
	"slices"
)

// arc is a weighted transition of the random walk.
type arc struct {
	to int
	w  float64
}

// pageRank returns the personalised PageRank of a graph of n nodes whose
// walker leaves node u along out[u] with probability proportional to the
// weights, and with probability 1-damping (or always, from a node without
// outgoing weight) jumps to a node drawn from the personalisation vector
// pers (normalised here; uniform when it sums to zero). The result sums
// to 1. gonum's PageRank has no personalisation vector, hence this one.
func pageRank(n int, out [][]arc, pers []float64, damping float64) []float64 {
	if n == 0 {
		return nil
	}
	p := make([]float64, n)
	var sum float64
	for i, x := range pers {
		if x > 0 && !math.IsInf(x, 0) {
			p[i] = x
			sum += x
		}
	}
	for i := range p {
		if sum > 0 {
			p[i] /= sum
		} else {
			p[i] = 1 / float64(n)
		}
	}
	tot := make([]float64, n)
	for u, as := range out {
		for _, a := range as {
			if a.w > 0 {
				tot[u] += a.w
			}
		}
	}
	r := slices.Clone(p)
	next := make([]float64, n)
	for range 1000 {
		dangling := 0.0
		for i := range next {
			next[i] = 0
		}
		for u := range n {
			if tot[u] == 0 {
				dangling += r[u]
				continue
			}
			for _, a := range out[u] {
				if a.w > 0 {
					next[a.to] += damping * r[u] * a.w / tot[u]
				}
			}
		}
		// What does not follow an arc jumps by the personalisation.
		jump := (1 - damping) + damping*dangling
		diff := 0.0
		for i := range next {
			next[i] += jump * p[i]
			diff += math.Abs(next[i] - r[i])
		}
		r, next = next, r
		if diff < 1e-12 {
			break
		}
	}
	return r
}
