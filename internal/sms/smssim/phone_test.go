package smssim

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestValidIsKnownType guards phoneProblem's shortcut: it takes a number
// whose type phonenumbers knows for valid, instead of also asking
// IsValidNumber, which matches the same metadata again.
func TestValidIsKnownType(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 10_000 {
		var e164 string
		switch i % 4 {
		case 0:
			e164 = fmt.Sprintf("+861%010d", rng.Int64N(1e10))
		case 1:
			e164 = fmt.Sprintf("+1%010d", rng.Int64N(1e10))
		case 2:
			e164 = fmt.Sprintf("+44%d", rng.Int64N(1e10))
		default:
			e164 = fmt.Sprintf("+%d%d", 1+rng.IntN(999), rng.Int64N(1e11))
		}
		n, err := phonenumbers.Parse(e164, "")
		if err != nil {
			continue
		}
		if valid, known := phonenumbers.IsValidNumber(n), phonenumbers.GetNumberType(n) != phonenumbers.UNKNOWN; valid != known {
			t.Fatalf("%s: IsValidNumber %v, type known %v", e164, valid, known)
		}
	}
}
