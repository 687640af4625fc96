package tracingalb

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"
)

const (
	httpLine = `http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/?a=b HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90 "-" "-" "-"`
	h2Line   = `h2 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 2001:db8:1ab::3:5555 10.0.1.252:48160 0.000 0.002 0.000 200 200 5 257 "GET https://10.0.2.105:773/v1/items/9 HTTP/2.0" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Self=1-58337327-72bd00b0343d75b906739c42;Root=1-58337327-72bd00b0343d75b906739c42;Parent=53995c3f42cd8ad8;Caller=api" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "redirect" "https://example.com:80/" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90 "-" "-" "-" "future field" 42`
	badReq   = `https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - -1 -1 -1 400 - 0 0 "- http://www.example.com:80- -" "-" - - - "-" "-" "-" - 2018-07-02T22:22:48.364000Z "-" "-" "-" "-" "-" "-" "-" - "-" "-" "-"`
)

func TestParseLine(t *testing.T) {
	e, err := ParseLine(httpLine)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != "http" || e.ELB != "app/my-loadbalancer/50dc6c495c0c9188" || e.ClientIP != "192.168.131.39" || e.ClientPort != 2817 ||
		e.TargetIP != "10.0.0.1" || e.TargetPort != 80 || e.TargetProcessingTime != 0.001 || e.ELBStatusCode != 200 || e.ReceivedBytes != 34 || e.SentBytes != 366 ||
		e.Method != "GET" || e.URL != "http://www.example.com:80/?a=b" || e.Protocol != "HTTP/1.1" || e.UserAgent != "curl/7.46.0" ||
		e.TraceID != "Root=1-58337262-36d228ad5d99923122bbe354" || e.MatchedRulePriority != 0 || e.ActionsExecuted != "forward" ||
		e.TargetPortList != "10.0.0.1:80" || e.TargetStatusCodeList != "200" || e.ConnTraceID != "TID_1234abcd5678ef90" || e.Extra != nil {
		t.Errorf("entry = %+v", e)
	}
	if got := e.Path(); got != "/" {
		t.Errorf("Path = %q", got)
	}
	if d := e.Duration(); d != 11822641*time.Microsecond {
		t.Errorf("Duration = %v", d)
	}

	e, err = ParseLine(h2Line)
	if err != nil {
		t.Fatal(err)
	}
	if e.ClientIP != "2001:db8:1ab::3:5555"[:len("2001:db8:1ab::3")] || e.ClientPort != 5555 || e.SSLProtocol != "TLSv1.2" ||
		e.DomainName != "www.example.com" || e.RedirectURL != "https://example.com:80/" || e.Path() != "/v1/items/9" ||
		!strings.HasPrefix(e.TraceID, "Self=") || len(e.Extra) != 2 || e.Extra[0] != "future field" {
		t.Errorf("entry = %+v", e)
	}

	e, err = ParseLine(badReq)
	if err != nil {
		t.Fatal(err)
	}
	if e.Method != "" || e.URL != "http://www.example.com:80-" || e.TargetPort != -1 || e.TargetStatusCode != -1 || e.RequestProcessingTime != -1 || e.TraceID != "" || e.Path() != "" {
		t.Errorf("entry = %+v", e)
	}
}

func TestEscapedQuotes(t *testing.T) {
	ua := `Mozilla "quoted" \ back`
	line := strings.Replace(httpLine, `"curl/7.46.0"`, Quote(ua), 1)
	e, err := ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if e.UserAgent != ua || e.TraceID != "Root=1-58337262-36d228ad5d99923122bbe354" {
		t.Errorf("user agent %q, trace %q", e.UserAgent, e.TraceID)
	}
}

func TestOlderShorterLines(t *testing.T) {
	fields, _ := split(httpLine)
	short := strings.Join(fields[:12], " ") + ` "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:x "Root=1-58337262-36d228ad5d99923122bbe354"`
	e, err := ParseLine(short)
	if err != nil {
		t.Fatal(err)
	}
	if e.TraceID == "" || !e.RequestCreationTime.IsZero() || e.MatchedRulePriority != -1 {
		t.Errorf("entry = %+v", e)
	}
}

func TestParseLineErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"", "0 fields"},
		{"http 2018-07-02T22:23:00Z app/x 1.2.3.4:5", "4 fields"},
		{strings.Replace(httpLine, "2018-07-02T22:23:00.186641Z", "yesterday", 1), "field 2 (time)"},
		{strings.Replace(httpLine, "192.168.131.39:2817", "192.168.131.39", 1), "field 4 (client:port)"},
		{strings.Replace(httpLine, " 200 200 ", " OK 200 ", 1), "field 9 (elb_status_code)"},
		{strings.Replace(httpLine, " 0.001 ", " fast ", 1), "field 7 (target_processing_time)"},
		{strings.Replace(httpLine, `"curl/7.46.0"`, `"curl/7.46.0`, 1) + `x"y`, "text after the closing quote"},
		{httpLine[:strings.Index(httpLine, `"GET`)] + `"GET http://unterminated`, "unterminated quote"},
	} {
		_, err := ParseLine(tc.line)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseLine(%.40q...) = %v, want %q", tc.line, err, tc.want)
		}
	}
}

func TestOpenGzipAndPlain(t *testing.T) {
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	if _, err := zw.Write([]byte(httpLine + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]io.Reader{"gzip": &zb, "plain": strings.NewReader(httpLine + "\n")} {
		r, err := Open(in)
		if err != nil {
			t.Fatal(name, err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(name, err)
		}
		if string(b) != httpLine+"\n" {
			t.Errorf("%s: read %q", name, b)
		}
	}
}

func TestFileName(t *testing.T) {
	got := FileName("123456789012", "us-east-2", "app/my-loadbalancer/1234567890abcdef", time.Date(2014, 2, 15, 23, 39, 0, 0, time.UTC), "192.0.2.1", "2sboe4tj")
	if want := "123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_20140215T2339Z_192.0.2.1_2sboe4tj.log.gz"; got != want {
		t.Errorf("FileName = %s, want %s", got, want)
	}
}

func FuzzParseLine(f *testing.F) {
	for _, l := range []string{httpLine, h2Line, badReq} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParseLine(line)
		if err != nil {
			return
		}
		if e.Type == "" || e.Time.IsZero() {
			t.Fatalf("accepted an entry without type or time: %q", line)
		}
		_ = e.Path()
		_ = e.Duration()
	})
}
