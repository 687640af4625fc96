package shiftproxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// respView is what the comparison of two readers looks at: status,
// header, length, body, trailers and whether the connection may be reused.
type respView struct {
	Code          int
	Status        string
	Proto         string
	Header        http.Header
	ContentLength int64
	Close         bool
	Body          string
	Trailer       http.Header
}

// viewOf reads r's body (and so its trailers) to the end, closes it, and
// returns the view of r.
func viewOf(r *http.Response) (respView, error) {
	body, err := io.ReadAll(r.Body)
	if cerr := r.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return respView{}, err
	}
	h := r.Header.Clone()
	if len(h) == 0 {
		h = nil
	}
	tr := r.Trailer.Clone()
	if len(tr) == 0 {
		tr = nil
	}
	return respView{r.StatusCode, r.Status, r.Proto, h, r.ContentLength, r.Close, string(body), tr}, nil
}

// readBoth parses raw as a response to a request of method with owl's
// reader and with net/http's, reading each body (and trailers) to the end.
func readBoth(raw []byte, method string) (ours, std respView, oursErr, stdErr error) {
	req := &http.Request{Method: method}
	rr := respReader{br: bufio.NewReader(bytes.NewReader(raw))}
	if resp, err := rr.read(req); err == nil {
		ours, oursErr = viewOf(resp)
	} else {
		oursErr = err
	}
	if resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), req); err == nil {
		std, stdErr = viewOf(resp)
	} else {
		stdErr = err
	}
	return ours, std, oursErr, stdErr
}

var responseSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n",
	"HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nno!",
	"HTTP/1.0 200 OK\r\n\r\nuntil close",
	"HTTP/1.1 204 No Content\r\nX-A:  spaced value \t\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	"HTTP/1.1 599 Custom Reason\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/2.0 200 OK\r\n\r\n",
	"HTTP/1.1 2000 OK\r\n\r\n",
	"HTTP/1.1 200 OK\r\nBad Key: x\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
}

func TestReadResponseMatchesNetHTTP(t *testing.T) {
	for _, raw := range responseSeeds {
		for _, method := range []string{"GET", "HEAD"} {
			compareResponses(t, []byte(raw), method)
		}
	}
}

// compareResponses checks that owl's reader agrees with net/http's on
// every response net/http accepts: status, header, length, body,
// trailers and whether the connection may be reused.
func compareResponses(t *testing.T, raw []byte, method string) {
	t.Helper()
	ours, std, oerr, serr := readBoth(raw, method)
	if serr != nil {
		return // owl may accept a little more or less; never differently
	}
	if oerr != nil {
		// owl refuses obsolete folding and malformed keys that net/http
		// repairs (grounds for a 502, RFC 9112 section 5.2), and
		// versions other than HTTP/1.x on an HTTP/1.1 connection and
		// status lines net/http repairs or codes below 100.
		if std.Code < 100 || strings.Contains(oerr.Error(), "malformed response status") || errors.Is(oerr, errObsFold) || strings.Contains(oerr.Error(), "header key") || strings.Contains(oerr.Error(), "unsupported response protocol") {
			return
		}
		t.Fatalf("%q (%s): owl refused what net/http reads: %v", raw, method, oerr)
	}
	if d := cmp.Diff(std, ours); d != "" {
		t.Fatalf("%q (%s): owl's reader differs from net/http's (-net/http +owl):\n%s", raw, method, d)
	}
}

func FuzzReadResponse(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		compareResponses(t, raw, method)
	})
}

func TestWriteRequestIsReadByNetHTTP(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		url    string
		header http.Header
		body   string
		length int64
	}{
		{"get", "GET", "http://up:8080/v1/sessions?user=1&x=%2F", http.Header{"X-Owl-User": {"u1"}, "Accept": {"a", "b"}}, "", 0},
		{"escaped path", "GET", "http://up/a%2Fb/c%20d", nil, "", 0},
		{"post with length", "POST", "http://up/p", http.Header{"Content-Type": {"application/json"}}, `{"a":1}`, 7},
		{"post chunked", "POST", "http://up/p", nil, "streamed body", -1},
		{"empty post", "POST", "http://up/p", nil, "", 0},
		{"newline in value", "GET", "http://up/", http.Header{"X-Evil": {"a\r\nInjected: yes"}, "Bad Key": {"dropped"}}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			req := &http.Request{Method: tc.method, URL: u, Host: u.Host, Header: tc.header, ContentLength: tc.length}
			if tc.body != "" {
				req.Body = io.NopCloser(strings.NewReader(tc.body))
			}
			var buf bytes.Buffer
			bw := bufio.NewWriter(&buf)
			if err := writeRequest(bw, req); err != nil {
				t.Fatal(err)
			}
			if err := bw.Flush(); err != nil {
				t.Fatal(err)
			}
			got, err := http.ReadRequest(bufio.NewReader(&buf))
			if err != nil {
				t.Fatalf("net/http cannot read %q: %v", buf.String(), err)
			}
			body, err := io.ReadAll(got.Body)
			if err != nil {
				t.Fatalf("read the written body: %v", err)
			}
			if got.Method != tc.method || got.RequestURI != u.RequestURI() || got.Host != u.Host || string(body) != tc.body {
				t.Fatalf("read %s %s host %s body %q", got.Method, got.RequestURI, got.Host, body)
			}
			for k, vv := range tc.header {
				if !validHeaderKey(k) {
					if _, ok := got.Header[k]; ok {
						t.Errorf("invalid key %q written", k)
					}
					continue
				}
				want := strings.ReplaceAll(strings.ReplaceAll(strings.Join(vv, ","), "\r", " "), "\n", " ")
				if g := strings.Join(got.Header[k], ","); g != want {
					t.Errorf("header %s: %q, want %q", k, g, want)
				}
			}
			if _, ok := got.Header["Injected"]; ok {
				t.Error("a newline in a value started a header line")
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes left after the request", buf.Len())
			}
		})
	}
	u, _ := url.Parse("http://up/")
	short := &http.Request{Method: "PUT", URL: u, ContentLength: 10, Body: io.NopCloser(strings.NewReader("abc"))}
	if err := writeRequest(bufio.NewWriter(io.Discard), short); err == nil || !strings.Contains(err.Error(), "3 of 10") {
		t.Fatalf("a short body: %v", err)
	}
}

// BenchmarkWriteRequest measures writeRequest on a typical proxied
// request and reports its cost (ns/op) and that cost as a multiple of
// net/http's Request.Write on the same request (x_nethttp, below 1:
// cheaper), the two interleaved in the same run so that other load on the
// machine weighs on both alike.
func BenchmarkWriteRequest(b *testing.B) {
	u, err := url.Parse("http://10.0.0.7:8080/v1/sessions?course=es&n=20")
	if err != nil {
		b.Fatal(err)
	}
	req := &http.Request{Method: "GET", URL: u, Host: "api.example", Header: http.Header{
		"Accept":           {"application/json"},
		"Accept-Encoding":  {"gzip"},
		"X-Owl-User":       {"user-1"},
		"X-Forwarded-For":  {"10.1.2.3, 127.0.0.1"},
		"X-Forwarded-Host": {"api.example"},
		"Traceparent":      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	}}
	bw := bufio.NewWriterSize(io.Discard, 16<<10)
	timed := func(write func(*bufio.Writer, *http.Request) error) time.Duration {
		t0 := time.Now()
		if err := write(bw, req); err != nil {
			b.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	std := func(bw *bufio.Writer, req *http.Request) error { return req.Write(bw) }
	var owlT, stdT time.Duration
	n := 0
	for b.Loop() {
		owlT += timed(writeRequest)
		stdT += timed(std)
		n++
	}
	b.ReportMetric(float64(owlT.Nanoseconds())/float64(n), "ns/op")
	b.ReportMetric(float64(owlT)/float64(max(stdT, 1)), "x_nethttp")
}
