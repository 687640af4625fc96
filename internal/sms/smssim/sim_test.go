package smssim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAlibabaSignatureIsVerified(t *testing.T) {
	dir := t.TempDir()
	s, err := New(Options{LedgerPath: filepath.Join(dir, "ledger.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool()}}}

	params := func(nonce string) url.Values {
		return url.Values{
			"Action": {"SendSms"}, "Version": {"2017-05-25"}, "Format": {"JSON"}, "AccessKeyId": {AlibabaAccessKeyID},
			"SignatureMethod": {"HMAC-SHA1"}, "SignatureVersion": {"1.0"}, "SignatureNonce": {nonce},
			"Timestamp": {time.Now().UTC().Format("2006-01-02T15:04:05Z")}, "PhoneNumbers": {"13800138000"},
			"SignName": {"owl"}, "TemplateCode": {"SMS_1"}, "TemplateParam": {`{"days":"3"}`},
		}
	}
	call := func(p url.Values) map[string]any {
		resp, err := c.Get(s.URL() + "/?" + p.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("response %q: %v", b, err)
		}
		return m
	}
	good := params("n1")
	good.Set("Signature", rpcSignature("GET", good, AlibabaAccessKeySecret))
	if m := call(good); m["Code"] != "OK" {
		t.Fatalf("signed request: %v", m)
	}
	if m := call(good); m["Code"] != "SignatureNonceUsed" {
		t.Errorf("replayed request: %v", m)
	}
	bad := params("n2")
	bad.Set("Signature", rpcSignature("GET", bad, "wrong-secret"))
	if m := call(bad); m["Code"] != "SignatureDoesNotMatch" {
		t.Errorf("badly signed request: %v", m)
	}
	tampered := params("n3")
	tampered.Set("Signature", rpcSignature("GET", tampered, AlibabaAccessKeySecret))
	tampered.Set("PhoneNumbers", "13800138001")
	if m := call(tampered); m["Code"] != "SignatureDoesNotMatch" {
		t.Errorf("tampered request: %v", m)
	}
	if got := len(s.Messages("")); got != 1 {
		t.Errorf("%d messages accepted, want 1", got)
	}
	fi, err := os.Stat(filepath.Join(dir, "ledger.jsonl"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ledger: %v, mode %v", err, fi.Mode())
	}
	line, _ := os.ReadFile(filepath.Join(dir, "ledger.jsonl"))
	var rec map[string]any
	if err := json.Unmarshal(line, &rec); err != nil || rec["to"] != "+8613800138000" || rec["template"] != "SMS_1" || rec["message_id"] == "" || rec["sent_at"] == "" {
		t.Errorf("ledger line %s", line)
	}
	if !strings.HasSuffix(string(line), "\n") {
		t.Error("ledger line not terminated")
	}
}

func TestAlibabaSendBatchSms(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool()}}}
	n := 0
	call := func(phones, signs, params string) map[string]any {
		n++
		p := url.Values{
			"Action": {"SendBatchSms"}, "Version": {"2017-05-25"}, "Format": {"JSON"}, "AccessKeyId": {AlibabaAccessKeyID},
			"SignatureMethod": {"HMAC-SHA1"}, "SignatureVersion": {"1.0"}, "SignatureNonce": {fmt.Sprint("b", n)},
			"Timestamp": {time.Now().UTC().Format("2006-01-02T15:04:05Z")}, "TemplateCode": {"SMS_1"}, "OutId": {"owlb1"},
			"PhoneNumberJson": {phones}, "SignNameJson": {signs}, "TemplateParamJson": {params},
		}
		p.Set("Signature", rpcSignature("POST", p, AlibabaAccessKeySecret))
		resp, err := c.PostForm(s.URL()+"/", p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := call(`["13800138000","13800138001"]`, `["owl","owl2"]`, `[{"days":"3"},{"days":"4"}]`)
	if m["Code"] != "OK" || m["BizId"] == "" {
		t.Fatalf("batch: %v", m)
	}
	got := s.Messages("")
	if len(got) != 2 || got[1].Sign != "owl2" || got[1].Params != `{"days":"4"}` || got[0].Ref != "owlb1" || got[0].BizID != m["BizId"] || got[0].MessageID == got[1].MessageID {
		t.Errorf("accepted %+v", got)
	}
	for _, tc := range []struct{ phones, signs, params, code string }{
		{`["13800138002","13800138003"]`, `["owl"]`, `[{"days":"3"},{"days":"4"}]`, "isv.INVALID_PARAMETERS"},
		{`["13800138002","13800138003"]`, `["owl","owl"]`, `[{"days":"3"}]`, "isv.INVALID_PARAMETERS"},
		{`["13800138002","12345"]`, `["owl","owl"]`, `[{"days":"3"},{"days":"4"}]`, "isv.MOBILE_NUMBER_ILLEGAL"},
		{`"13800138002"`, `["owl"]`, `[{"days":"3"}]`, "isv.INVALID_JSON_PARAM"},
		{`[` + strings.Repeat(`"13800138002",`, 100) + `"13800138002"]`, `["owl"]`, `[]`, "isv.MOBILE_COUNT_OVER_LIMIT"},
	} {
		if m := call(tc.phones, tc.signs, tc.params); m["Code"] != tc.code {
			t.Errorf("batch %s / %s / %s: %v, want %s", tc.phones, tc.signs, tc.params, m, tc.code)
		}
	}
	if got := len(s.Messages("")); got != 2 {
		t.Errorf("%d messages accepted in all, want the first batch's 2: a refused batch accepts nothing", got)
	}
}
