package tracectx

import (
	"errors"
	"fmt"
	"net/textproto"
	"net/url"
	"path/filepath"
)

// Config is the tracing section of an owl target's configuration: how the
// process names itself, where its access log and hash key live, which
// header carries the user id, which attributes components may add, and
// where spans go besides the access log.
type Config struct {
	Service      string   `yaml:"service" help:"service name in access logs and in the Caller field of outgoing calls"`
	AccessLog    string   `yaml:"access_log" help:"access log file, JSON lines (empty: <data>/logs/access.jsonl)"`
	HashKeyFile  string   `yaml:"hash_key_file" help:"file with the key of the access logs' keyed hashes, at least 16 bytes, created when missing; every service of a deployment must share it (empty: <data>/trace/hash.key)"`
	UserHeader   string   `yaml:"user_header" help:"request header carrying the user id, logged only as its keyed hash (empty: none)"`
	Attrs        []string `yaml:"attrs" help:"attribute keys components may add to access-log records"`
	OTLPEndpoint string   `yaml:"otlp_endpoint" help:"also export spans over OTLP/HTTP to this base URL, e.g. http://jaeger:4318 (empty: none)"`
}

// DefaultConfig names the service and lets the shift proxy's "side"
// attribute through; files go under the data folder, users are identified
// by X-Owl-User.
func DefaultConfig(service string) Config {
	return Config{Service: service, UserHeader: "X-Owl-User", Attrs: []string{"side"}}
}

// Paths returns the access log and hash key files, defaulting to their
// places under data.
func (c Config) Paths(data string) (accessLog, hashKeyFile string) {
	accessLog, hashKeyFile = c.AccessLog, c.HashKeyFile
	if accessLog == "" {
		accessLog = filepath.Join(data, "logs", "access.jsonl")
	}
	if hashKeyFile == "" {
		hashKeyFile = filepath.Join(data, "trace", "hash.key")
	}
	return accessLog, hashKeyFile
}

// Validate reports every invalid setting, naming its key.
func (c Config) Validate() error {
	var errs []error
	if !ValidService(c.Service) {
		errs = append(errs, fmt.Errorf("trace.service %q: want 1 to 64 letters, digits, '.', '_' or '-'", c.Service))
	}
	if c.UserHeader != "" && !validToken(c.UserHeader) {
		errs = append(errs, fmt.Errorf("trace.user_header %q: want a header name (an HTTP token: no spaces or separators)", c.UserHeader))
	}
	if h := textproto.CanonicalMIMEHeaderKey(c.UserHeader); h == HeaderAmzn || h == HeaderTraceparent || h == HeaderTracestate {
		errs = append(errs, fmt.Errorf("trace.user_header %q: a trace header cannot carry the user id", c.UserHeader))
	}
	seen := map[string]bool{}
	for _, a := range c.Attrs {
		switch {
		case !validToken(a):
			errs = append(errs, fmt.Errorf("trace.attrs: %q is not a valid attribute key (an HTTP token: no spaces or separators)", a))
		case seen[a]:
			errs = append(errs, fmt.Errorf("trace.attrs: %q listed twice", a))
		}
		seen[a] = true
	}
	if c.OTLPEndpoint != "" {
		u, err := url.Parse(c.OTLPEndpoint)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("trace.otlp_endpoint: %w", err))
		case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
			errs = append(errs, fmt.Errorf("trace.otlp_endpoint %q: want http://HOST:PORT or https://HOST:PORT", c.OTLPEndpoint))
		case u.RawQuery != "" || u.Fragment != "":
			errs = append(errs, fmt.Errorf("trace.otlp_endpoint %q: want a base URL without query or fragment (owl adds /v1/traces)", c.OTLPEndpoint))
		}
	}
	return errors.Join(errs...)
}
