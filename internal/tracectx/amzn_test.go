package tracectx

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustRoot(t *testing.T, s string) TraceID {
	t.Helper()
	id, err := ParseRoot(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestParseAmzn(t *testing.T) {
	root := "1-67891233-abcdef012345678912345678"
	for _, tc := range []struct {
		name, in string
		want     Amzn
		format   string // String() of the result; "" means same as in
	}{
		{name: "root only", in: "Root=" + root, want: Amzn{Root: mustRoot(t, root)}},
		{
			name: "alb puts Self first, Self not 24 digits as in AWS's docs",
			in:   "Self=1-67891233-12456789abcdef012345678;Root=" + root + ";CalledFrom=app",
			want: Amzn{Root: mustRoot(t, root), Self: "1-67891233-12456789abcdef012345678", Fields: []Field{{"CalledFrom", "app"}}},
		},
		{
			name:   "any order with whitespace",
			in:     " Caller=api ; Sampled=1;\tParent=53995c3f42cd8ad8 ;Root=" + root + " ; ",
			want:   Amzn{Root: mustRoot(t, root), Parent: SpanID{0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8}, Sampled: "1", Caller: "api"},
			format: "Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=1;Caller=api",
		},
		{
			name: "legacy lineage",
			in:   "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5|c512fbe3:2",
			want: Amzn{Root: mustRoot(t, "1-5759e988-bd862e3fe1be46a994272793"), Parent: SpanID{0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8}, Sampled: "1", Lineage: "a87bd80c:1|68fd508a:5|c512fbe3:2"},
		},
		{
			name: "newer lineage, sampled unknown",
			in:   "Root=" + root + ";Sampled=?;Lineage=2:a87bd80c:1",
			want: Amzn{Root: mustRoot(t, root), Sampled: "?", Lineage: "2:a87bd80c:1"},
		},
		{
			name:   "upper-case hex normalised",
			in:     "Root=1-67891233-ABCDEF012345678912345678",
			want:   Amzn{Root: mustRoot(t, root)},
			format: "Root=" + root,
		},
		{
			name:   "keys in any case",
			in:     "root=" + root + ";caller=cart",
			want:   Amzn{Root: mustRoot(t, root), Caller: "cart"},
			format: "Root=" + root + ";Caller=cart",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAmzn(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseAmzn(%q) (-want +got):\n%s", tc.in, diff)
			}
			want := tc.format
			if want == "" {
				want = tc.in
			}
			if s := got.String(); s != want {
				t.Errorf("String() = %q, want %q", s, want)
			}
		})
	}
}

func TestParseAmznRejects(t *testing.T) {
	root := "Root=1-67891233-abcdef012345678912345678"
	for _, tc := range []struct{ in, reason string }{
		{"", "empty"},
		{" ; ", "empty"},
		{"Parent=53995c3f42cd8ad8", "missing_root"},
		{"Self=1-67891233-abcdef012345678912345678", "missing_root"},
		{"Root=1-6789123-abcdef012345678912345678", "bad_root"},
		{"Root=2-67891233-abcdef012345678912345678", "bad_root"},
		{"Root=1-67891233-abcdef01234567891234567g", "bad_root"},
		{"Root=1-00000000-000000000000000000000000", "bad_root"},
		{root + ";Root=1-67891233-abcdef012345678912345679", "duplicate_field"},
		{root + ";Parent=123", "bad_parent"},
		{root + ";Parent=0000000000000000", "bad_parent"},
		{root + ";Sampled=yes", "bad_sampled"},
		{root + ";Lineage=xyz:1", "bad_lineage"},
		{root + ";Lineage=a87bd80c:1|", "bad_lineage"},
		{root + ";Self=garbage", "bad_self"},
		{root + ";Caller=", "bad_caller"},
		{root + ";Caller=" + strings.Repeat("x", 65), "bad_caller"},
		{root + ";Caller=a b", "bad_caller"},
		{root + ";novalue", "syntax"},
		{root + ";we ird=1", "bad_field"},
		{root + ";k=\x01", "bad_field"},
		{root + ";k=" + strings.Repeat("v", maxAmznLen), "too_long"},
	} {
		_, err := ParseAmzn(tc.in)
		var he *HeaderError
		if !errors.As(err, &he) || he.Reason != tc.reason || he.Header != HeaderAmzn {
			t.Errorf("ParseAmzn(%q) = %v, want reason %s", clip(tc.in), err, tc.reason)
		}
	}
}

func FuzzParseAmzn(f *testing.F) {
	f.Add("Root=1-67891233-abcdef012345678912345678")
	f.Add("Self=1-67891233-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;CalledFrom=app")
	f.Add("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmzn(s)
		if err != nil {
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		// What we write, we read back the same.
		b, err := ParseAmzn(a.String())
		if err != nil {
			t.Fatalf("ParseAmzn(%q) of our own output: %v", a.String(), err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Fatalf("round trip of %q (-first +second):\n%s", s, diff)
		}
	})
}

func TestIDs(t *testing.T) {
	id := mustRoot(t, "1-5759e988-bd862e3fe1be46a994272793")
	if got := id.String(); got != "5759e988bd862e3fe1be46a994272793" {
		t.Errorf("String = %s", got)
	}
	if got := id.Root(); got != "1-5759e988-bd862e3fe1be46a994272793" {
		t.Errorf("Root = %s", got)
	}
	if got := id.Time().Unix(); got != 0x5759e988 {
		t.Errorf("Time = %d", got)
	}
	w, err := ParseTraceID(id.String())
	if err != nil || w != id {
		t.Errorf("ParseTraceID = %v, %v", w, err)
	}
	for _, bad := range []string{"", "5759E988BD862E3FE1BE46A994272793", strings.Repeat("0", 32), strings.Repeat("a", 31)} {
		if _, err := ParseTraceID(bad); err == nil {
			t.Errorf("ParseTraceID(%q) accepted", bad)
		}
	}
}
