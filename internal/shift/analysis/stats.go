package analysis

import (
	"math"
	"slices"
)

// Alternative is the direction of a one-sided test.
type Alternative int

// Alternatives, named as scipy names them.
const (
	// Greater: the first sample is larger (more errors, slower).
	Greater Alternative = iota
	// Less: the first sample is smaller.
	Less
)

// normalSF is P(Z > z) for a standard normal Z, accurate in the far tail.
func normalSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// normalQuantile is the z with P(Z <= z) = p.
func normalQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }

// logChoose is ln C(n, k).
func logChoose(n, k int64) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// FisherExact is the one-sided p-value of Fisher's exact test of the 2x2
// table [[a, b], [c, d]] (rows: first sample's successes and failures,
// second sample's): for Greater, P(X >= a) with X hypergeometric given
// the margins, the probability of a first-row count at least as large if
// both rows shared one rate. It matches scipy.stats.fisher_exact.
func FisherExact(a, b, c, d int64, alt Alternative) float64 {
	if a < 0 || b < 0 || c < 0 || d < 0 {
		return math.NaN()
	}
	if alt == Less {
		// P(X <= a) is the Greater p-value of the table with columns swapped.
		return FisherExact(b, a, d, c, Greater)
	}
	row, col, total := a+b, a+c, a+b+c+d
	hi := min(row, col)
	lo := max(0, row+col-total)
	if a <= lo {
		return 1
	}
	// The pmf from a upwards, by the ratio of successive terms, summed
	// relative to the first term so that tiny tails keep their precision.
	logFirst := logChoose(col, a) + logChoose(total-col, row-a) - logChoose(total, row)
	sum, term := 1.0, 1.0
	for x := a; x < hi; x++ {
		term *= float64(row-x) * float64(col-x) / (float64(x+1) * float64(total-row-col+x+1))
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return min(1, math.Exp(logFirst)*sum)
}

// ZTestDiff is the one-sided p-value of a two-proportion z-test of
// H0: p1 - p2 <= delta against p1 - p2 > delta (Greater), with x1 of n1
// and x2 of n2 successes and unpooled (Wald) standard error, the form that
// allows a non-zero delta. It returns NaN when both observed rates are 0
// or 1 (no variance to scale by).
func ZTestDiff(x1, n1, x2, n2 int64, delta float64) (p, z float64) {
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	se := math.Sqrt(p1*(1-p1)/float64(n1) + p2*(1-p2)/float64(n2))
	if se == 0 || n1 <= 0 || n2 <= 0 {
		return math.NaN(), math.NaN()
	}
	z = (p1 - p2 - delta) / se
	return normalSF(z), z
}

// MannWhitney holds the result of a Mann-Whitney U test.
type MannWhitney struct {
	// U is the statistic of the first sample: the number of pairs (x, y)
	// with x > y, ties counting one half.
	U float64
	// P is the one-sided p-value.
	P float64
	// Exact reports whether P comes from the exact distribution of U
	// rather than the normal approximation.
	Exact bool
}

// exactLimit is the largest n1+n2 whose exact U distribution is computed:
// its counts, up to C(60, 30) ~ 1.2e17, fit in int64.
const exactLimit = 60

// MannWhitneyU tests whether x is stochastically larger (Greater) or
// smaller (Less) than y. Without ties and with len(x)+len(y) <= 60 the
// p-value is exact; otherwise it is the normal approximation with the tie
// correction of the variance and a continuity correction. Both match
// scipy.stats.mannwhitneyu(x, y, alternative=..., method="exact" /
// "asymptotic", use_continuity=True).
func MannWhitneyU(x, y []float64, alt Alternative) MannWhitney {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return MannWhitney{P: math.NaN()}
	}
	type obs struct {
		v     float64
		first bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	slices.SortFunc(all, func(a, b obs) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	// Mid-ranks, and the tie term sum(t^3 - t) of the variance.
	var r1, tieTerm float64
	ties := false
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // ranks i+1..j averaged
		for k := i; k < j; k++ {
			if all[k].first {
				r1 += rank
			}
		}
		if t := float64(j - i); t > 1 {
			ties = true
			tieTerm += t*t*t - t
		}
		i = j
	}
	fn1, fn2 := float64(n1), float64(n2)
	u1 := r1 - fn1*(fn1+1)/2
	u := u1
	if alt == Less {
		u = fn1*fn2 - u1
	}
	if !ties && n1+n2 <= exactLimit {
		return MannWhitney{U: u1, P: uSF(int(math.Round(u)), n1, n2), Exact: true}
	}
	n := fn1 + fn2
	sd := math.Sqrt(fn1 * fn2 / 12 * ((n + 1) - tieTerm/(n*(n-1))))
	if sd == 0 {
		return MannWhitney{U: u1, P: 1}
	}
	z := (u - fn1*fn2/2 - 0.5) / sd
	return MannWhitney{U: u1, P: min(1, normalSF(z))}
}

// uSF is P(U >= u) for the U statistic of samples of sizes m and n without
// ties. The counts of U are the coefficients of the Gaussian binomial
// [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i), built in
// exact integer arithmetic.
func uSF(u, m, n int) float64 {
	if u <= 0 {
		return 1
	}
	if u > m*n {
		return 0
	}
	if m > n {
		m, n = n, m
	}
	c := make([]int64, m*n+1)
	c[0] = 1
	deg := 0
	for i := 1; i <= m; i++ {
		// multiply by (1 - q^(n+i))
		deg += n + i
		for j := min(deg, m*n); j >= n+i; j-- {
			c[j] -= c[j-n-i]
		}
		// divide by (1 - q^i): a running sum with stride i
		for j := i; j <= m*n; j++ {
			c[j] += c[j-i]
		}
		deg -= i
	}
	var tail, total float64
	for j, v := range c {
		total += float64(v)
		if j >= u {
			tail += float64(v)
		}
	}
	return tail / total
}

// hodgesLehmannRatio is the median of all ratios x_i / y_j: the ratio
// estimate that goes with the Mann-Whitney test.
func hodgesLehmannRatio(x, y []float64) float64 {
	r := make([]float64, 0, len(x)*len(y))
	for _, a := range x {
		for _, b := range y {
			if b > 0 {
				r = append(r, a/b)
			}
		}
	}
	if len(r) == 0 {
		return math.NaN()
	}
	slices.Sort(r)
	mid := len(r) / 2
	if len(r)%2 == 1 {
		return r[mid]
	}
	return (r[mid-1] + r[mid]) / 2
}
