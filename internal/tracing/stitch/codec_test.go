package stitch

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/tracing"
)

func sampleNode() node {
	return node{
		trace:  [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		self:   "1-67891233-aa",
		parent: "1111222233334444",
		span: tracing.Span{
			SpanID: "53995c3f42cd8ad8", Kind: tracing.KindServer, Service: "cart", Caller: "api", Peer: "db:5432",
			Method: "GET", Route: "GET /x/{id}", Path: "/x/é", Status: -1, Start: time.UnixMicro(1767225600123456).UTC(),
			DurationUS: -7, ReqBytes: 1 << 62, RespBytes: -(1 << 62), ContentType: "application/json", Encoding: "gzip", AcceptEncoding: "gzip, br",
			Fingerprint: "f", Error: "server_error", Attrs: map[string]string{"side": "new", "": ""},
		},
	}
}

func TestSpillCodecRoundTrip(t *testing.T) {
	for _, n := range []node{sampleNode(), {}} {
		b := appendNode(nil, &n)
		var got node
		if err := decodeNode(b[5:], &got); err != nil {
			t.Fatal(err)
		}
		if n.span.Start.IsZero() {
			n.span.Start = time.UnixMicro(n.span.Start.UnixMicro()).UTC()
		}
		if diff := cmp.Diff(n, got, cmp.AllowUnexported(node{})); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

// FuzzDecodeNode checks that a damaged spill record is reported as
// corrupt, never a panic, and that what decodes encodes back the same.
func FuzzDecodeNode(f *testing.F) {
	n := sampleNode()
	f.Add(appendNode(nil, &n)[5:])
	f.Fuzz(func(t *testing.T, b []byte) {
		var n node
		if err := decodeNode(b, &n); err != nil {
			return
		}
		var again node
		if err := decodeNode(appendNode(nil, &n)[5:], &again); err != nil {
			t.Fatalf("re-encoded node does not decode: %v", err)
		}
	})
}
