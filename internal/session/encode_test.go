package session

import "testing"

func TestReasonText(t *testing.T) {
	for _, r := range []Reason{
		{Kind: KindNew, Level: 2}, {Kind: KindReview, P: 0.41}, {Kind: KindReview, P: 0.005}, {Kind: KindReview},
		{Kind: KindMissed}, {Kind: KindMissed, DaysAgo: 1}, {Kind: KindMissed, DaysAgo: 6},
		{Kind: KindPractice}, {Kind: KindPractice, Level: 3}, {},
	} {
		if got := string(r.appendText(nil)); got != r.String() {
			t.Errorf("appendText %q, String %q", got, r.String())
		}
	}
}
