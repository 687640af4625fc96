package rca

import (
	"math"
	"testing"
)

// solve returns x with a·x = b by Gaussian elimination (small systems).
func solve(a [][]float64, b []float64) []float64 {
	n := len(b)
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p], b[c], b[p] = a[p], a[c], b[p], b[c]
		for r := range n {
			if r != c {
				f := a[r][c] / a[c][c]
				for k := c; k < n; k++ {
					a[r][k] -= f * a[c][k]
				}
				b[r] -= f * b[c]
			}
		}
	}
	x := make([]float64, n)
	for i := range n {
		x[i] = b[i] / a[i][i]
	}
	return x
}

// closedForm computes personalised PageRank as the solution of
// r = d·Pᵀr + (1-d)·p, where P is row-stochastic and dangling rows jump
// by p: r = (1-d)(I - d·Pᵀ)⁻¹ p.
func closedForm(n int, out [][]arc, p []float64, d float64) []float64 {
	P := make([][]float64, n)
	for u := range n {
		P[u] = make([]float64, n)
		tot := 0.0
		for _, a := range out[u] {
			tot += a.w
		}
		for v := range n {
			if tot == 0 {
				P[u][v] = p[v]
			}
		}
		for _, a := range out[u] {
			if tot > 0 {
				P[u][a.to] += a.w / tot
			}
		}
	}
	A := make([][]float64, n)
	b := make([]float64, n)
	for i := range n {
		A[i] = make([]float64, n)
		for j := range n {
			A[i][j] = -d * P[j][i]
		}
		A[i][i]++
		b[i] = (1 - d) * p[i]
	}
	return solve(A, b)
}

func TestPageRankMatchesClosedForm(t *testing.T) {
	// 0 → 1 → 2 with a self-loop on 2, a backward arc 2 → 1, and node 3
	// dangling (no arcs out).
	out := [][]arc{
		{{1, 1}, {3, 0.5}},
		{{2, 0.8}, {0, 0.2}},
		{{2, 0.9}, {1, 0.1}},
		nil,
	}
	pers := []float64{0.1, 0.2, 0.6, 0.1}
	got := pageRank(4, out, pers, 0.85)
	want := closedForm(4, out, pers, 0.85)
	sum := 0.0
	for i := range got {
		sum += got[i]
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("rank[%d] = %.12f, closed form %.12f", i, got[i], want[i])
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("ranks sum to %v, want 1", sum)
	}
}

func TestPageRankPersonalisation(t *testing.T) {
	// No arcs at all: every node dangles, so the walk is the
	// personalisation, normalised.
	got := pageRank(3, make([][]arc, 3), []float64{2, 6, 0}, 0.85)
	for i, w := range []float64{0.25, 0.75, 0} {
		if math.Abs(got[i]-w) > 1e-12 {
			t.Errorf("rank[%d] = %v, want %v", i, got[i], w)
		}
	}
	// A zero personalisation is uniform; negative and infinite weights
	// are ignored.
	got = pageRank(2, make([][]arc, 2), []float64{0, math.Inf(1)}, 0.85)
	if math.Abs(got[0]-0.5) > 1e-12 || math.Abs(got[1]-0.5) > 1e-12 {
		t.Errorf("uniform rank = %v", got)
	}
	// Two-node cycle: r0 = 0.15·1 + 0.85·r1, r1 = 0.85·r0, so
	// r0 = 0.15/(1-0.7225).
	got = pageRank(2, [][]arc{{{1, 1}}, {{0, 1}}}, []float64{1, 0}, 0.85)
	if w := 0.15 / (1 - 0.85*0.85); math.Abs(got[0]-w) > 1e-9 || math.Abs(got[0]+got[1]-1) > 1e-9 {
		t.Errorf("cycle rank = %v, want r0 = %v", got, w)
	}
	if pageRank(0, nil, nil, 0.85) != nil {
		t.Error("empty graph has ranks")
	}
}
