package stitch

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing"
)

func sampleFields() appFields {
	return appFields{
		time: time.UnixMicro(1767225600123456).UTC(), kind: tracectx.KindServer, service: "cart",
		traceRoot: "1-67891233-abcdef012345678912345678", span: "53995c3f42cd8ad8", parent: "1111222233334444", self: "1-67891233-aa",
		caller: "api", peer: "db:5432", method: "GET", route: "GET /x/{id}", path: "/x/é", contentType: "application/json",
		encoding: "gzip", acceptEncoding: "gzip, br", fingerprint: "f", errClass: "server_error",
		status: -1, dur: 7, reqBytes: 1 << 62, respBytes: -(1 << 62), attrs: map[string]string{"side": "new", "": ""},
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	f := sampleFields()
	p, k, err := appendApp(nil, 42, &f)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := tracectx.ParseRoot(f.traceRoot)
	if want := newKey(&id, 0x53995c3f42cd8ad8); k != want {
		t.Errorf("key %+v, want %+v", k, want)
	}
	if seqOf(p) != 42 {
		t.Errorf("seq %d, want 42", seqOf(p))
	}
	var sp tracing.Span
	var l links
	if err := decodePayload(string(p), &sp, &l); err != nil {
		t.Fatal(err)
	}
	want := tracing.Span{
		Kind: tracing.KindServer, Service: "cart", Caller: "api", Peer: "db:5432", Method: "GET", Route: "GET /x/{id}", Path: "/x/é",
		Status: -1, Start: f.time, DurationUS: 7, ReqBytes: 1 << 62, RespBytes: -(1 << 62), ContentType: "application/json",
		Encoding: "gzip", AcceptEncoding: "gzip, br", Fingerprint: "f", Error: "server_error", Attrs: f.attrs,
	}
	if diff := cmp.Diff(want, sp); diff != "" {
		t.Errorf("span (-want +got):\n%s", diff)
	}
	wantLinks := links{kind: kindServer, hasParent: true, parent: 0x1111222233334444, hasSelf: true, self: lbSpan(&id, f.self)}
	if l != wantLinks {
		t.Errorf("links %+v, want %+v", l, wantLinks)
	}
}

func TestLBSpan(t *testing.T) {
	id, _ := tracectx.ParseRoot("1-67891233-ABCDEF012345678912345678")
	for _, self := range []string{"", "1-67891233-aa", "x"} {
		got := lbSpan(&id, self)
		want, _ := tracectx.ParseSpanID(tracing.LBSpanID(id.Root(), self))
		if got != uint64FromSpan(want) {
			t.Errorf("lbSpan(%q) = %016x, want %s", self, got, want)
		}
	}
}

func uint64FromSpan(s tracectx.SpanID) uint64 {
	var v uint64
	for _, c := range s {
		v = v<<8 | uint64(c)
	}
	return v
}

func TestRunRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	rw := newRunWriter(&buf)
	f := sampleFields()
	var want []entry
	var arena []byte
	for i := range 3000 {
		start := len(arena)
		var k key
		var err error
		arena, k, err = appendApp(arena, uint64(i), &f)
		if err != nil {
			t.Fatal(err)
		}
		k.span = uint64(i)
		want = append(want, entry{key: k, off: uint32(start), n: uint32(len(arena) - start)})
		if err := rw.write(k, arena[start:]); err != nil {
			t.Fatal(err)
		}
	}
	if err := rw.flush(); err != nil {
		t.Fatal(err)
	}
	// A small buffer, so that records straddle its refills.
	rr := newRunReader(bytes.NewReader(buf.Bytes()), 100)
	for i, e := range want {
		k, p, ok, err := rr.next()
		if err != nil || !ok {
			t.Fatalf("record %d: ok %v, %v", i, ok, err)
		}
		if k != e.key || !bytes.Equal(p, arena[e.off:e.off+e.n]) {
			t.Fatalf("record %d differs", i)
		}
	}
	if _, _, ok, err := rr.next(); ok || err != nil {
		t.Errorf("after the last record: ok %v, %v", ok, err)
	}
	// A run cut short is corrupt, not a short read.
	rr = newRunReader(bytes.NewReader(buf.Bytes()[:buf.Len()-3]), 1<<10)
	for {
		_, _, ok, err := rr.next()
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Errorf("truncated run: %v, want %v", err, errCorrupt)
			}
			break
		}
		if !ok {
			t.Fatal("truncated run read to the end")
		}
	}
}

// FuzzDecodePayload checks that a damaged payload is reported as corrupt,
// never a panic, and that what decodes encodes back the same.
func FuzzDecodePayload(f *testing.F) {
	fs := sampleFields()
	p, _, err := appendApp(nil, 1, &fs)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p)
	f.Fuzz(func(t *testing.T, b []byte) {
		var sp tracing.Span
		var l links
		if err := decodePayload(string(b), &sp, &l); err != nil {
			return
		}
		if l.kind == kindLB {
			return // ALB payloads are made from ALB lines
		}
		again := appFields{
			time: sp.Start, kind: sp.Kind, service: sp.Service, traceRoot: "1-67891233-abcdef012345678912345678", span: "53995c3f42cd8ad8",
			caller: sp.Caller, peer: sp.Peer, method: sp.Method, route: sp.Route, path: sp.Path, contentType: sp.ContentType,
			encoding: sp.Encoding, acceptEncoding: sp.AcceptEncoding, fingerprint: sp.Fingerprint, errClass: sp.Error,
			status: sp.Status, dur: sp.DurationUS, reqBytes: sp.ReqBytes, respBytes: sp.RespBytes, attrs: sp.Attrs,
		}
		if sp.Service == "" || sp.Start.IsZero() || sp.DurationUS < 0 {
			return // not a record appendApp takes
		}
		p, _, err := appendApp(nil, seqOf(b), &again)
		if err != nil {
			t.Fatalf("decoded span does not encode: %v", err)
		}
		var sp2 tracing.Span
		var l2 links
		if err := decodePayload(string(p), &sp2, &l2); err != nil {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
		if diff := cmp.Diff(sp, sp2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
