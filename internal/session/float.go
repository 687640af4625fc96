package session

import (
	"math"
	"math/bits"
)

// Memory states are floats, two per word, so the decoder converts most
// number literals itself, exactly (to the float64 strconv.ParseFloat
// gives), and leaves the rare others to strconv.

// pow10 holds the powers of ten that a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// pow10u holds the powers of ten that a uint64 holds.
var pow10u = [...]uint64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// fastFloat converts a JSON number literal (already checked) exactly when
// floatOf can; ok is false for the others.
func fastFloat(lit string) (float64, bool) {
	i, neg := 0, false
	if lit[0] == '-' {
		i, neg = 1, true
	}
	var m uint64
	exp, digits := 0, 0
	for frac := false; i < len(lit); i++ {
		c := lit[i]
		if c == '.' {
			frac = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if digits == 19 {
			return 0, false
		}
		m = m*10 + uint64(c-'0')
		digits++
		if frac {
			exp--
		}
	}
	if i < len(lit) { // an exponent
		i++
		eneg := false
		switch lit[i] {
		case '-':
			eneg = true
			i++
		case '+':
			i++
		}
		e := 0
		for ; i < len(lit); i++ {
			if e > 1000 {
				return 0, false
			}
			e = e*10 + int(lit[i]-'0')
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	return floatOf(m, exp, neg)
}

// maxExactMantissa is the largest of the integers a float64 holds
// exactly, with all below it.
const maxExactMantissa = 1 << 53

// floatOf returns ±m·10^exp, correctly rounded, for the common cases: m
// and the power of ten exact in a float64 (one correctly rounded
// multiplication or division then gives the result, as
// strconv.ParseFloat's own fast path does), or a quotient that
// nearestQuotient settles. ok is false for the others.
func floatOf(m uint64, exp int, neg bool) (float64, bool) {
	var f float64
	switch {
	case m <= maxExactMantissa && exp >= -22 && exp <= 22:
		f = float64(m)
		if exp < 0 {
			f /= pow10[-exp]
		} else {
			f *= pow10[exp]
		}
	case exp <= 0 && -exp < len(pow10u) && m != 0:
		var ok bool
		if f, ok = nearestQuotient(m, -exp); !ok {
			return 0, false
		}
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

// nearestQuotient returns the float64 nearest m/10^k (m > 0, k ≤ 19),
// ties excepted. The quotient of the float64s is within about one unit
// in the last place of it; integer arithmetic checks that the candidate's
// rounding interval holds m/10^k, moving to a neighbour when not. ok is
// false when that does not settle it cheaply (ties, powers of two, tiny
// results).
func nearestQuotient(m uint64, k int) (float64, bool) {
	f := float64(m) / pow10[k]
	b := math.Float64bits(f)
	biased := b >> 52 // f > 0: no sign bit
	// f = mant·2^e with mant of 53 bits; m/10^k lies strictly inside
	// f's rounding interval when
	// (2·mant−1)·10^k < m·2^(1−e) < (2·mant+1)·10^k.
	mant := b&(1<<52-1) | 1<<52
	sh := 1 - (int(biased) - 1075)
	if biased == 0 || sh < 0 || sh > 64 {
		return 0, false
	}
	var mHi, mLo uint64
	switch sh {
	case 0:
		mLo = m
	case 64:
		mHi = m
	default:
		mHi, mLo = m>>(64-sh), m<<sh
	}
	p := pow10u[k]
	for range 2 {
		// The interval is not symmetric at a power of two: leave it to
		// strconv.
		if mant <= 1<<52 || mant >= 1<<53-1 {
			return 0, false
		}
		loHi, loLo := bits.Mul64(2*mant-1, p)
		hiHi, hiLo := bits.Mul64(2*mant+1, p)
		above := mHi > loHi || mHi == loHi && mLo > loLo
		below := mHi < hiHi || mHi == hiHi && mLo < hiLo
		switch {
		case above && below:
			return math.Float64frombits(biased<<52 | mant&(1<<52-1)), true
		case mHi == loHi && mLo == loLo, mHi == hiHi && mLo == hiLo:
			return 0, false // a tie
		case below:
			mant--
		default:
			mant++
		}
	}
	return 0, false
}
