package shiftproxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"
)

// The HTTP/1.1 wire format of the upstream side, written and read by hand:
// net/http's Request.Write and ReadResponse are general (sorted headers,
// a textproto reader, a string per header line) and cost more allocations
// than the whole rest of a proxied request.

// maxHeaderBytes bounds an upstream response's header block.
const maxHeaderBytes = 1 << 20

// reqExcluded are request headers writeRequest writes itself or never.
func reqExcluded(k string) bool {
	switch k {
	case "Host", "Content-Length", "Transfer-Encoding", "Trailer", "Connection":
		return true
	}
	return false
}

// canWriteFast reports whether writeRequest handles req; the rest (request
// trailers) goes through Request.Write.
func canWriteFast(req *http.Request) bool { return len(req.Trailer) == 0 }

// writeRequest writes req (origin form, HTTP/1.1) to bw: the request line,
// Host, the header as it is (no User-Agent added), and the body framed by
// its ContentLength, or chunked when the length is unknown. Errors of the
// body's copy are returned; the caller flushes bw and checks that too.
func writeRequest(bw *bufio.Writer, req *http.Request) error {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	// The head is appended to bw's free buffer and written in one call:
	// no copy when it fits (as it nearly always does), and one error.
	b := bw.AvailableBuffer()
	b = append(b, method...)
	b = append(b, ' ')
	u := req.URL
	if p := u.EscapedPath(); p != "" {
		b = append(b, p...)
	} else {
		b = append(b, '/')
	}
	if u.ForceQuery || u.RawQuery != "" {
		b = append(b, '?')
		b = append(b, u.RawQuery...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	host := req.Host
	if host == "" {
		host = u.Host
	}
	b = appendHeaderValue(b, host)
	b = append(b, "\r\n"...)
	for k, vv := range req.Header {
		if reqExcluded(k) || !validHeaderKey(k) {
			continue
		}
		for _, v := range vv {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendHeaderValue(b, v)
			b = append(b, "\r\n"...)
		}
	}
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	if req.Close {
		b = append(b, "Connection: close\r\n"...)
	}
	switch {
	case body == nil:
		if req.ContentLength > 0 {
			return fmt.Errorf("request says %d body bytes but has no body", req.ContentLength)
		}
		if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
			b = append(b, "Content-Length: 0\r\n"...)
		}
		b = append(b, "\r\n"...)
		_, err := bw.Write(b)
		return err
	case req.ContentLength > 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, req.ContentLength, 10)
		b = append(b, "\r\n\r\n"...)
		if _, err := bw.Write(b); err != nil {
			return err
		}
		n, err := io.CopyN(bw, body, req.ContentLength)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("request body ended after %d of %d bytes", n, req.ContentLength)
			}
			return err
		}
		return nil
	default:
		b = append(b, "Transfer-Encoding: chunked\r\n\r\n"...)
		if _, err := bw.Write(b); err != nil {
			return err
		}
		cw := httputil.NewChunkedWriter(bw)
		if _, err := io.Copy(cw, body); err != nil {
			return err
		}
		if err := cw.Close(); err != nil {
			return err
		}
		_, err := bw.WriteString("\r\n") // no trailers
		return err
	}
}

// appendHeaderValue appends v with any CR or LF replaced by a space, as
// net/http does, so that a value can never start a new header line.
func appendHeaderValue(b []byte, v string) []byte {
	if !strings.ContainsAny(v, "\r\n") {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// validHeaderKey reports whether k is a non-empty HTTP token.
func validHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isTokenChar(k[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isCanonical reports whether k is already in canonical MIME header form
// (as http.CanonicalHeaderKey would return it unchanged).
func isCanonical(k []byte) bool {
	upper := true
	for _, c := range k {
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

// respReader reads responses from one upstream connection; its scratch
// buffer is reused from one response to the next.
type respReader struct {
	br      *bufio.Reader
	scratch []byte
	spans   []headerSpan
}

type headerSpan struct{ k0, k1, v0, v1 int }

var (
	errHeaderTooLong = errors.New("response header block is larger than 1 MB")
	errObsFold       = errors.New("response header uses obsolete line folding")
)

// read reads one response to req: its status line and header, and a body
// framed as RFC 9112 section 6.3 says. Informational (1xx) answers are
// returned like others; the caller skips them.
func (rr *respReader) read(req *http.Request) (*http.Response, error) {
	line, err := rr.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("response status line too long")
		}
		return nil, err
	}
	resp := &http.Response{Request: req}
	if err := parseStatusLine(resp, line); err != nil {
		return nil, err
	}
	// The header block, copied into scratch, becomes one string whose
	// substrings are the keys and values: one allocation for all of them.
	sc := rr.scratch[:0]
	spans := rr.spans[:0]
	for {
		line, err := rr.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, errHeaderTooLong
			}
			return nil, fmt.Errorf("read response header: %w", err)
		}
		line = trimEOL(line)
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, errObsFold
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, fmt.Errorf("malformed response header line %q", truncate(line))
		}
		key := line[:colon]
		for _, c := range key {
			if !isTokenChar(c) {
				return nil, fmt.Errorf("malformed response header key %q", truncate(key))
			}
		}
		val := bytes.TrimLeft(bytes.TrimRight(line[colon+1:], " \t"), " \t")
		if len(sc)+len(line) > maxHeaderBytes {
			return nil, errHeaderTooLong
		}
		var s headerSpan
		s.k0 = len(sc)
		sc = append(sc, key...)
		s.k1 = len(sc)
		s.v0 = s.k1
		sc = append(sc, val...)
		s.v1 = len(sc)
		spans = append(spans, s)
	}
	block := string(sc)
	if cap(sc) <= 64<<10 { // a rare huge header is not kept for the connection's life
		rr.scratch, rr.spans = sc, spans
	} else {
		rr.scratch, rr.spans = nil, nil
	}
	h := make(http.Header, len(spans))
	vals := make([]string, len(spans))
	for i, s := range spans {
		var k string
		if isCanonical(sc[s.k0:s.k1]) {
			k = block[s.k0:s.k1]
		} else {
			k = http.CanonicalHeaderKey(block[s.k0:s.k1])
		}
		vals[i] = block[s.v0:s.v1]
		if old, ok := h[k]; ok {
			h[k] = append(old, vals[i])
		} else {
			h[k] = vals[i : i+1 : i+1]
		}
	}
	resp.Header = h
	if err := rr.frame(resp, req); err != nil {
		return nil, err
	}
	return resp, nil
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func trimEOL(line []byte) []byte {
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// parseStatusLine fills the protocol and status of resp from
// "HTTP/1.1 200 OK\r\n".
func parseStatusLine(resp *http.Response, line []byte) error {
	line = trimEOL(line)
	if len(line) < 12 || line[8] != ' ' || !bytes.HasPrefix(line, []byte("HTTP/")) {
		return fmt.Errorf("malformed response status line %q", truncate(line))
	}
	switch {
	case line[5] != '1' || line[6] != '.':
		return fmt.Errorf("unsupported response protocol %q", line[:8])
	case line[7] == '1':
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.1", 1, 1
	case line[7] == '0':
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.0", 1, 0
	default:
		return fmt.Errorf("unsupported response protocol %q", line[:8])
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return fmt.Errorf("malformed response status code %q", line[9:12])
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || len(line) > 12 && line[12] != ' ' {
		return fmt.Errorf("malformed response status line %q", truncate(line))
	}
	resp.StatusCode = code
	if st := line[9:]; string(st) == statusLines[code] {
		resp.Status = statusLines[code]
	} else {
		resp.Status = string(st)
	}
	return nil
}

// statusLines caches "200 OK" and friends for the common codes.
var statusLines = func() map[int]string {
	m := map[int]string{}
	for c := 100; c < 600; c++ {
		if t := http.StatusText(c); t != "" {
			m[c] = strconv.Itoa(c) + " " + t
		}
	}
	return m
}()

// frame sets the response's length, connection persistence, trailers and
// body from its header, the request method and the status.
func (rr *respReader) frame(resp *http.Response, req *http.Request) error {
	h := resp.Header
	resp.Close = connectionClose(resp)
	te := h["Transfer-Encoding"]
	chunked := false
	if resp.ProtoMinor == 0 {
		delete(h, "Transfer-Encoding") // HTTP/1.0 has none (as net/http reads it)
	} else if len(te) > 0 {
		if len(te) != 1 || !strings.EqualFold(strings.TrimSpace(te[0]), "chunked") {
			return fmt.Errorf("unsupported transfer encoding %q", te)
		}
		chunked = true
		delete(h, "Transfer-Encoding")
		delete(h, "Content-Length") // a length beside chunked framing means nothing
		resp.TransferEncoding = []string{"chunked"}
	}
	resp.ContentLength = -1
	if cl := h["Content-Length"]; len(cl) > 0 && !chunked {
		n, err := parseContentLength(cl)
		if err != nil {
			return err
		}
		resp.ContentLength = n
	}
	if tr := h["Trailer"]; len(tr) > 0 && chunked {
		// Only a chunked body can carry trailers.
		resp.Trailer = http.Header{}
		for _, v := range tr {
			for k := range strings.SplitSeq(v, ",") {
				k = http.CanonicalHeaderKey(strings.TrimSpace(k))
				switch k {
				case "":
				case "Transfer-Encoding", "Trailer", "Content-Length":
					return fmt.Errorf("bad trailer key %q", k)
				default:
					resp.Trailer[k] = nil
				}
			}
		}
		delete(h, "Trailer")
	}
	noBody := req.Method == http.MethodHead || resp.StatusCode < 200 || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified
	switch {
	case noBody:
		resp.Body = http.NoBody
		if req.Method != http.MethodHead {
			resp.ContentLength = 0
		}
	case chunked:
		resp.Body = &chunkedBody{r: httputil.NewChunkedReader(rr.br), br: rr.br, resp: resp}
	case resp.ContentLength == 0:
		resp.Body = http.NoBody
	case resp.ContentLength > 0:
		resp.Body = &lengthBody{br: rr.br, n: resp.ContentLength}
	default:
		// Neither length nor chunks: the body ends when the upstream
		// closes the connection, which can then not be reused.
		resp.Close = true
		resp.Body = io.NopCloser(rr.br)
	}
	return nil
}

// connectionClose reports whether the upstream closes the connection
// after resp, and drops "Connection: close" from an HTTP/1.1 header as
// net/http does.
func connectionClose(resp *http.Response) bool {
	conn := resp.Header["Connection"]
	if resp.ProtoMinor == 0 {
		return !inTokens(conn, "keep-alive")
	}
	if inTokens(conn, "close") {
		delete(resp.Header, "Connection")
		return true
	}
	return false
}

func parseContentLength(vv []string) (int64, error) {
	first := strings.TrimSpace(vv[0])
	for _, v := range vv[1:] {
		if strings.TrimSpace(v) != first {
			return 0, fmt.Errorf("conflicting Content-Length values %q", vv)
		}
	}
	n, err := strconv.ParseUint(first, 10, 63)
	if err != nil || first == "" || first[0] == '+' {
		return 0, fmt.Errorf("malformed Content-Length %q", first)
	}
	return int64(n), nil
}

// lengthBody reads exactly n bytes; a connection that ends sooner is an
// unexpected EOF.
type lengthBody struct {
	br *bufio.Reader
	n  int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.br.Read(p)
	b.n -= int64(n)
	if b.n <= 0 {
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *lengthBody) Close() error { return nil }

// chunkedBody decodes a chunked body and, at its end, reads the trailer
// section into the response's Trailer.
type chunkedBody struct {
	r    io.Reader
	br   *bufio.Reader
	resp *http.Response
	done bool
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		if terr := b.readTrailer(); terr != nil {
			return n, terr
		}
		b.done = true
	}
	return n, err
}

func (b *chunkedBody) readTrailer() error {
	hdr, err := textproto.NewReader(b.br).ReadMIMEHeader()
	if err != nil {
		return fmt.Errorf("read response trailer: %w", err)
	}
	if len(hdr) == 0 {
		return nil
	}
	if b.resp.Trailer == nil {
		b.resp.Trailer = http.Header{}
	}
	for k, vv := range hdr {
		b.resp.Trailer[k] = vv
	}
	return nil
}

func (b *chunkedBody) Close() error { return nil }
