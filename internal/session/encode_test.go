package session

import (
	"encoding/json"
	"testing"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnew\nline\rcr\bbs\fff",
		"\x00\x01\x1f\x7f", "ñandú 😀", "\u2028\u2029", "bad \xff utf8 \xc3", "\xed\xa0\x80",
	} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

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
