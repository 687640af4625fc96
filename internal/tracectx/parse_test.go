package tracectx

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleRecord() Record {
	return Record{
		Time: time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC), Kind: KindServer, Service: "cart",
		TraceRoot: "1-67891233-abcdef012345678912345678", Span: "53995c3f42cd8ad8", Parent: "1111222233334444",
		Self: "1-67891233-12456789abcdef012345678", Caller: "api", Peer: "db:5432", Link: "0af7651916cd43dd8448eb211c80319c",
		Method: "POST", Route: "POST /v1/carts/{id}", Path: "/v1/carts/\"7\"\\é\x01", QueryHash: "0011223344556677",
		Status: 503, DurationUS: 1234567, TTFBUS: 1200, ReqBytes: 1 << 40, RespBytes: -1,
		ContentType: "application/json", Encoding: "gzip", AcceptEncoding: "gzip, br", Fingerprint: "8899aabbccddeeff",
		UAHash: "0123456789abcdef", UserHash: "fedcba9876543210", Error: "server_error",
		Attrs: map[string]string{"side": "new", "zone": "a\u2028b"},
	}
}

func TestParseRecordReadsWhatAppendJSONWrites(t *testing.T) {
	for _, r := range []Record{sampleRecord(), {Time: time.Unix(0, 0).UTC(), Kind: KindClient, Service: "s", TraceRoot: "r", Span: "x", Method: "GET", Path: "/", Fingerprint: "f"}} {
		line := string(r.AppendJSON(nil))
		got, err := ParseRecord(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var want Record
		if err := json.Unmarshal([]byte(line), &want); err != nil {
			t.Fatal(err)
		}
		cmpEqual(t, want, got)
	}
}

// TestParseRecordAsEncodingJSON feeds both decoders lines written by hand:
// other whitespace, escapes, unknown fields, nulls, other time layouts,
// keys in other cases; both must agree.
func TestParseRecordAsEncodingJSON(t *testing.T) {
	for _, line := range []string{
		` { "kind" : "server" , "service":"a\/b\u00e9\ud83d\ude00", "status": 200 } `,
		`{"time":"2026-01-02T03:04:05Z","duration_us":-5,"unknown":{"a":[1,2.5e-3,true,false,null,{"b":"c"}]},"x":[]}`,
		`{"time":"2026-01-02T03:04:05.123+02:00","attrs":{"a":"1","b":null}}`,
		`{"time":null,"status":null,"path":null,"attrs":null}`,
		`{"KIND":"client","Trace_Root":"r","span":"s"}`,
		`{"path":"\ud800\u0041 lone surrogate","route":"\udc00x"}`,
		"{\"path\":\"bad utf-8 \xff\xfe here\"}",
		`{"attrs":{"a":"1"},"attrs":{"b":"2"}}`,
		`{}`,
	} {
		got, err := ParseRecord(line)
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		var want Record
		if err := json.Unmarshal([]byte(line), &want); err != nil {
			t.Fatalf("%s: encoding/json: %v", line, err)
		}
		cmpEqual(t, want, got)
	}
}

func TestParseRecordRejects(t *testing.T) {
	for _, tc := range []struct {
		line, want string
		stricter   bool // encoding/json accepts it
	}{
		{``, `offset 0: want '{', got the end of the line`, false},
		{`null`, `offset 0: want '{', got 'n'`, false},
		{`{"status":"200"}`, `offset 10: status: want an integer`, false},
		{`{"status":200.5}`, `offset 10: status: want an integer, got 200.5`, false},
		{`{"duration_us":1e3}`, `want an integer`, false},
		{`{"status":01}`, `offset 11: want ',' or '}', got '1'`, false},
		{`{"kind":5}`, `offset 8: kind: want a string`, false},
		{`{"time":"yesterday"}`, `offset 8: time "yesterday": want RFC 3339`, false},
		{`{"time":"2026-02-30T00:00:00.000000Z"}`, `want RFC 3339`, false},
		{`{"path":"a` + "\x01" + `b"}`, `control character 0x1 in a string`, false},
		{`{"path":"a\qb"}`, `bad escape "\\q"`, false},
		{`{"path":"abc`, `unterminated string`, false},
		{`{"kind":"server"} x`, `unexpected 'x' after the record`, false},
		{`{"kind":"server",}`, `want a string, got '}'`, false},
		{`{"attrs":{"a":1}}`, `attrs["a"]: want a string`, false},
		{`{"x":tru}`, `want a value`, false},
		{`{"x":` + strings.Repeat("[", 1100) + strings.Repeat("]", 1100) + `}`, `nested too deeply`, true},
	} {
		_, err := ParseRecord(tc.line)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.line, err, tc.want)
		}
		var r Record
		if tc.line != "null" && !tc.stricter && json.Unmarshal([]byte(tc.line), &r) == nil {
			t.Errorf("%q: encoding/json accepts it", tc.line)
		}
	}
}

// FuzzParseRecord checks that ParseRecord never accepts what encoding/json
// rejects, and decodes what both accept to the same Record.
func FuzzParseRecord(f *testing.F) {
	r := sampleRecord()
	f.Add(string(r.AppendJSON(nil)))
	f.Add(`{"time":"2026-01-02T03:04:05Z","unknown":[1,{"a":null}],"attrs":{"a":"\u00e9"}}`)
	f.Add(`{"kind":"server","status":-0,"path":"\ud83d\ude00"}`)
	f.Fuzz(func(t *testing.T, line string) {
		got, err := ParseRecord(line)
		var want Record
		jerr := json.Unmarshal([]byte(line), &want)
		if err == nil && jerr != nil {
			t.Fatalf("%q: ParseRecord accepts what encoding/json rejects: %v", line, jerr)
		}
		// encoding/json also folds a few non-ASCII letters in keys (the
		// Kelvin sign, the long s); ParseRecord does not.
		if err != nil || strings.ContainsAny(line, "\u212a\u017f") || strings.Contains(line, `\u`) {
			return
		}
		cmpEqual(t, want, got)
	})
}
