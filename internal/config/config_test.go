package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

type testConfig struct {
	Addr  string   `yaml:"addr" help:"listen address"`
	Token string   `yaml:"token" secret:"true" help:"API token"`
	Tags  []string `yaml:"tags" help:"tags"`
	Log   Log      `yaml:"log"`
	HTTP  `yaml:",inline"`
	Pool  struct {
		Size    int     `yaml:"size"`
		Ratio   float64 `yaml:"ratio"`
		Enabled bool    `yaml:"enabled"`
	} `yaml:"pool"`
	Dir string `yaml:"data_dir" flag:"data"`
}

func defaults() *testConfig {
	c := &testConfig{Addr: "127.0.0.1:8080", Log: DefaultLog()}
	c.ReadTimeout = 30 * time.Second
	c.Pool.Size = 4
	return c
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "owl.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, args []string, file string, env map[string]string) (*testConfig, error) {
	t.Helper()
	cfg := defaults()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	b := Bind(fs, cfg)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cfg, b.Load(file, func(k string) string { return env[k] })
}

func TestNames(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	b := Bind(fs, defaults())
	var got []string
	for _, f := range b.Fields() {
		got = append(got, f.Key()+" "+f.Flag+" "+f.Env)
	}
	want := []string{
		"addr addr OWL_ADDR",
		"token token OWL_TOKEN",
		"tags tags OWL_TAGS",
		"log.level log-level OWL_LOG_LEVEL",
		"log.format log-format OWL_LOG_FORMAT",
		"max_body_bytes max-body-bytes OWL_MAX_BODY_BYTES",
		"read_header_timeout read-header-timeout OWL_READ_HEADER_TIMEOUT",
		"read_timeout read-timeout OWL_READ_TIMEOUT",
		"write_timeout write-timeout OWL_WRITE_TIMEOUT",
		"idle_timeout idle-timeout OWL_IDLE_TIMEOUT",
		"drain_timeout drain-timeout OWL_DRAIN_TIMEOUT",
		"pool.size pool-size OWL_POOL_SIZE",
		"pool.ratio pool-ratio OWL_POOL_RATIO",
		"pool.enabled pool-enabled OWL_POOL_ENABLED",
		"data_dir data OWL_DATA",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("names (-want +got):\n%s", d)
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, `
addr: file:1
tags: [a, b]
log:
  level: debug
  format: json
pool:
  size: 8
  ratio: 0.5
read_timeout: 10s
`)
	env := map[string]string{"OWL_ADDR": "env:2", "OWL_LOG_LEVEL": "warn", "OWL_POOL_ENABLED": "true", "OWL_TAGS": "x, y"}
	cfg, err := load(t, []string{"--addr", "flag:3", "--data", "/d"}, file, env)
	if err != nil {
		t.Fatal(err)
	}
	want := defaults()
	want.Addr = "flag:3"           // flag beats env and file
	want.Log.Level = "warn"        // env beats file
	want.Log.Format = "json"       // file beats default
	want.Tags = []string{"x", "y"} // env list
	want.Pool.Size = 8             // file
	want.Pool.Ratio = 0.5          // file
	want.Pool.Enabled = true       // env
	want.ReadTimeout = 10 * time.Second
	want.Dir = "/d"
	if d := cmp.Diff(want, cfg); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
}

func TestFlagListBeatsFile(t *testing.T) {
	file := writeFile(t, "tags: [a, b]\n")
	cfg, err := load(t, []string{"--tags", "c"}, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"c"}, cfg.Tags); d != "" {
		t.Errorf("tags (-want +got):\n%s", d)
	}
}

func TestFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"syntax", "addr: [unclosed\n", []string{"owl.yaml:1: did not find expected ',' or ']'"}},
		{"unknown key", "addr: x\nlisten: y\n", []string{`owl.yaml:2:1: unknown key "listen" (valid keys here: addr, token, tags, log, max_body_bytes`}},
		{"unknown nested key", "log:\n  colour: red\n", []string{`owl.yaml:2:3: unknown key "log.colour" (valid keys here: level, format)`}},
		{"wrong type int", "pool:\n  size: lots\n", []string{`owl.yaml:2:9: key "pool.size": expected an integer, got "lots"`}},
		{"wrong type bool", "pool:\n  enabled: yes\n", []string{`owl.yaml:2:12: key "pool.enabled": expected true or false, got "yes"`}},
		{"wrong type duration", "read_timeout: 10\n", []string{`owl.yaml:1:15: key "read_timeout": expected a duration such as 500ms, 30s or 5m, got "10"`}},
		{"mapping for scalar", "addr:\n  host: x\n", []string{`owl.yaml:2:3: key "addr": expected a string, got a mapping`}},
		{"scalar for section", "log: loud\n", []string{`owl.yaml:1:1: key "log": expected a mapping, got "loud"`}},
		{"not a mapping", "- a\n- b\n", []string{"owl.yaml:1:1: expected a mapping of settings, got a list"}},
		{"repeated key", "addr: a\naddr: b\n", []string{`owl.yaml:2:1: key "addr" repeats the one on line 1`}},
		{"all errors at once", "nope: 1\npool:\n  size: x\n", []string{`unknown key "nope"`, `key "pool.size": expected an integer`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, nil, writeFile(t, tc.text), nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestEnvError(t *testing.T) {
	_, err := load(t, nil, "", map[string]string{"OWL_POOL_SIZE": "many"})
	if err == nil || err.Error() != `environment variable OWL_POOL_SIZE: expected an integer, got "many"` {
		t.Errorf("err = %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := load(t, nil, filepath.Join(t.TempDir(), "absent.yaml"), nil)
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("err = %v", err)
	}
}

func TestPrintRedactsSecretsAndRoundTrips(t *testing.T) {
	cfg, err := load(t, []string{"--token", "s3cret-value", "--tags", "a,b"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	b := Bind(fs, cfg)
	var out bytes.Buffer
	if err := b.Print(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.Contains(text, "s3cret-value") || !strings.Contains(text, "token: '"+Redacted+"'") {
		t.Errorf("secret not redacted:\n%s", text)
	}
	if !strings.Contains(text, "level: info # --log-level, OWL_LOG_LEVEL") {
		t.Errorf("printed config lacks annotated log level:\n%s", text)
	}
	// What Print writes (less the secret) must load back to the same values.
	text = strings.ReplaceAll(text, "token: '"+Redacted+"'", `token: ""`)
	again, err := load(t, nil, writeFile(t, text), nil)
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, text)
	}
	cfg.Token = ""
	if d := cmp.Diff(cfg, again); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}
