package tracectx

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig("session").Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	ok := DefaultConfig("api-front")
	ok.OTLPEndpoint = "http://jaeger:4318"
	if err := ok.Validate(); err != nil {
		t.Errorf("with an endpoint: %v", err)
	}
	bad := Config{
		Service: "my service", UserHeader: "X User", Attrs: []string{"side", "side", "a b"},
		OTLPEndpoint: "jaeger:4318",
	}
	err := bad.Validate()
	for _, want := range []string{
		`trace.service "my service"`, `trace.user_header "X User"`, `trace.attrs: "side" listed twice`,
		`trace.attrs: "a b" is not a valid attribute key`, `trace.otlp_endpoint "jaeger:4318": want http://HOST:PORT`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to mention %s", err, want)
		}
	}
	if err := (Config{Service: "s", UserHeader: "traceparent"}).Validate(); err == nil {
		t.Error("a trace header accepted as the user header")
	}
	if err := (Config{Service: "s", OTLPEndpoint: "http://h:4318?x=1"}).Validate(); err == nil {
		t.Error("an endpoint with a query accepted")
	}
}

func TestConfigPaths(t *testing.T) {
	log, key := DefaultConfig("s").Paths("/d")
	if log != filepath.Join("/d", "logs", "access.jsonl") || key != filepath.Join("/d", "trace", "hash.key") {
		t.Errorf("defaults: %s %s", log, key)
	}
	c := Config{AccessLog: "/var/log/owl.jsonl", HashKeyFile: "/etc/owl/key"}
	if log, key := c.Paths("/d"); log != c.AccessLog || key != c.HashKeyFile {
		t.Errorf("set: %s %s", log, key)
	}
}
