package smssim

import (
	"context"
	"crypto/tls"
	"encoding/json"
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
