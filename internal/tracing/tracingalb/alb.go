// Package tracingalb reads AWS Application Load Balancer access logs: the
// space-separated, partly quoted lines AWS writes to S3, plain or gzipped
// and named as AWS names them.
package tracingalb

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Entry is one ALB access log line, every documented field in order.
// Missing values ("-") are empty strings; numbers AWS writes as -1 or "-"
// when they do not apply are -1.
type Entry struct {
	Type                   string // http, https, h2, grpcs, ws, wss
	Time                   time.Time
	ELB                    string // app/NAME/ID
	ClientIP               string
	ClientPort             int
	TargetIP               string
	TargetPort             int
	RequestProcessingTime  float64 // seconds
	TargetProcessingTime   float64
	ResponseProcessingTime float64
	ELBStatusCode          int
	TargetStatusCode       int
	ReceivedBytes          int64
	SentBytes              int64
	Method                 string // of the request field; "-" when unparseable
	URL                    string // scheme://host:port/path?query as logged
	Protocol               string
	UserAgent              string
	SSLCipher              string
	SSLProtocol            string
	TargetGroupARN         string
	TraceID                string // the X-Amzn-Trace-Id header as the ALB forwarded it
	DomainName             string
	ChosenCertARN          string
	MatchedRulePriority    int
	RequestCreationTime    time.Time // zero when absent
	ActionsExecuted        string
	RedirectURL            string
	ErrorReason            string
	TargetPortList         string
	TargetStatusCodeList   string
	Classification         string
	ClassificationReason   string
	ConnTraceID            string
	TransformedHost        string
	TransformedURI         string
	RequestTransformStatus string
	// Extra holds fields after the last documented one: AWS adds fields at
	// the end of the line over time, and they are tolerated.
	Extra []string
}

// Path is the URL path of the request, without the query string (which
// may carry personal data).
func (e *Entry) Path() string {
	u, err := url.Parse(e.URL)
	if err != nil || u.Path == "" && u.Host == "" {
		// Unparseable requests are logged as "- http://host:80- -".
		if i := strings.Index(e.URL, "://"); i >= 0 {
			rest := e.URL[i+3:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				p, _, _ := strings.Cut(rest[j:], "?")
				return p
			}
		}
		return ""
	}
	return u.Path
}

// Duration is the time from the request's arrival to the response, from
// request_creation_time and time when both are logged, else the sum of the
// processing times that apply.
func (e *Entry) Duration() time.Duration {
	if !e.RequestCreationTime.IsZero() && !e.Time.Before(e.RequestCreationTime) {
		return e.Time.Sub(e.RequestCreationTime)
	}
	var s float64
	for _, v := range []float64{e.RequestProcessingTime, e.TargetProcessingTime, e.ResponseProcessingTime} {
		if v > 0 {
			s += v
		}
	}
	return time.Duration(s * float64(time.Second))
}

// minFields is the oldest line format: everything up to and including
// the user agent, SSL fields and target group.
const minFields = 13

// ParseLine parses one log line (without its newline).
func ParseLine(line string) (Entry, error) {
	var e Entry
	fields, err := split(line)
	if err != nil {
		return e, err
	}
	if len(fields) < minFields {
		return e, fmt.Errorf("%d fields, want at least %d (type through request)", len(fields), minFields)
	}
	f := func(i int) string {
		if i < len(fields) && fields[i] != "-" {
			return fields[i]
		}
		return ""
	}
	p := parser{}
	e.Type = f(0)
	if e.Type == "" {
		return e, errors.New("field 1 (type) is empty")
	}
	e.Time = p.time(1, "time", fields[1], true)
	e.ELB = f(2)
	e.ClientIP, e.ClientPort = p.hostPort(3, "client:port", fields[3])
	e.TargetIP, e.TargetPort = p.hostPort(4, "target:port", fields[4])
	e.RequestProcessingTime = p.seconds(5, "request_processing_time", fields[5])
	e.TargetProcessingTime = p.seconds(6, "target_processing_time", fields[6])
	e.ResponseProcessingTime = p.seconds(7, "response_processing_time", fields[7])
	e.ELBStatusCode = p.int(8, "elb_status_code", fields[8])
	e.TargetStatusCode = p.int(9, "target_status_code", fields[9])
	e.ReceivedBytes = int64(p.int(10, "received_bytes", fields[10]))
	e.SentBytes = int64(p.int(11, "sent_bytes", fields[11]))
	e.Method, e.URL, e.Protocol = splitRequest(fields[12])
	e.UserAgent = f(13)
	e.SSLCipher = f(14)
	e.SSLProtocol = f(15)
	e.TargetGroupARN = f(16)
	e.TraceID = f(17)
	e.DomainName = f(18)
	e.ChosenCertARN = f(19)
	e.MatchedRulePriority = -1
	if len(fields) > 20 {
		e.MatchedRulePriority = p.int(20, "matched_rule_priority", fields[20])
	}
	if len(fields) > 21 {
		e.RequestCreationTime = p.time(21, "request_creation_time", fields[21], false)
	}
	e.ActionsExecuted = f(22)
	e.RedirectURL = f(23)
	e.ErrorReason = f(24)
	e.TargetPortList = f(25)
	e.TargetStatusCodeList = f(26)
	e.Classification = f(27)
	e.ClassificationReason = f(28)
	e.ConnTraceID = f(29)
	e.TransformedHost = f(30)
	e.TransformedURI = f(31)
	e.RequestTransformStatus = f(32)
	if len(fields) > 33 {
		e.Extra = fields[33:]
	}
	if p.err != nil {
		return Entry{}, p.err
	}
	return e, nil
}

// parser keeps the first field error.
type parser struct{ err error }

func (p *parser) fail(i int, name, v, want string) {
	if p.err == nil {
		if len(v) > 64 {
			v = v[:64] + "..."
		}
		p.err = fmt.Errorf("field %d (%s) %q: want %s", i+1, name, v, want)
	}
}

func (p *parser) time(i int, name, v string, required bool) time.Time {
	if v == "-" && !required {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		p.fail(i, name, v, "an ISO 8601 time such as 2026-01-02T15:04:05.123456Z")
	}
	return t.UTC()
}

func (p *parser) int(i int, name, v string) int {
	if v == "-" {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.fail(i, name, v, "an integer or -")
	}
	return n
}

func (p *parser) seconds(i int, name, v string) float64 {
	if v == "-" {
		return -1
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil {
		p.fail(i, name, v, "seconds such as 0.001 or -1")
	}
	return s
}

// hostPort splits ip:port at the last colon: AWS writes IPv6 addresses
// without brackets.
func (p *parser) hostPort(i int, name, v string) (string, int) {
	if v == "-" {
		return "", -1
	}
	j := strings.LastIndexByte(v, ':')
	if j <= 0 {
		p.fail(i, name, v, "ip:port")
		return "", -1
	}
	port, err := strconv.Atoi(v[j+1:])
	if err != nil || port < 0 || port > 65535 {
		p.fail(i, name, v, "ip:port")
		return "", -1
	}
	return strings.Trim(v[:j], "[]"), port
}

// splitRequest splits "METHOD URL PROTOCOL"; an unparseable request is
// logged as "- http://host:80- -".
func splitRequest(r string) (method, u, proto string) {
	first := strings.IndexByte(r, ' ')
	last := strings.LastIndexByte(r, ' ')
	if first < 0 || first == last {
		return "", r, ""
	}
	method, u, proto = r[:first], r[first+1:last], r[last+1:]
	if method == "-" {
		method = ""
	}
	if proto == "-" {
		proto = ""
	}
	return method, u, proto
}

// split cuts a line into fields: separated by single spaces, a field
// starting with '"' runs to the next unescaped '"'. Inside quotes AWS
// escapes '"' and '\' with a backslash.
func split(line string) ([]string, error) {
	fields := make([]string, 0, 36)
	for i := 0; i < len(line); {
		if line[i] == '"' {
			var b []byte // only when the field has escapes
			j := i + 1
			start := j
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) && (line[j+1] == '"' || line[j+1] == '\\') {
					b = append(b, line[start:j]...)
					b = append(b, line[j+1])
					j++
					start = j + 1
				}
			}
			if j >= len(line) {
				return nil, fmt.Errorf("field %d: unterminated quote", len(fields)+1)
			}
			if b != nil {
				fields = append(fields, string(append(b, line[start:j]...)))
			} else {
				fields = append(fields, line[i+1:j])
			}
			i = j + 1
			if i < len(line) && line[i] != ' ' {
				return nil, fmt.Errorf("field %d: text after the closing quote", len(fields))
			}
			i++
			continue
		}
		j := strings.IndexByte(line[i:], ' ')
		if j < 0 {
			fields = append(fields, line[i:])
			break
		}
		fields = append(fields, line[i:i+j])
		i += j + 1
	}
	return fields, nil
}

// Open returns a reader of the log file's lines: gzip (as AWS delivers
// them, *.log.gz) is recognised by its magic bytes, anything else is read
// as plain text.
func Open(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		zr.Multistream(true)
		return zr, nil
	}
	return br, nil
}

// FileName is the name AWS gives an access log file: account, region,
// load balancer, the end of its five-minute window, the node's IP address
// and a random string.
func FileName(account, region, elb string, end time.Time, ip, random string) string {
	id := strings.ReplaceAll(elb, "/", ".")
	return fmt.Sprintf("%s_elasticloadbalancing_%s_%s_%s_%s_%s.log.gz", account, region, id, end.UTC().Format("20060102T1504Z"), ip, random)
}

// Quote writes v as a quoted field the way AWS does: '"' and '\' escaped
// with a backslash.
func Quote(v string) string {
	if v == "" {
		v = "-"
	}
	return `"` + quoteEscaper.Replace(v) + `"`
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
