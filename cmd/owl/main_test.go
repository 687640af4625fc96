package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"owl": main,
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// truncate FILE cuts a file to half its length.
			"truncate": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: truncate FILE")
				}
				path := ts.MkAbs(args[0])
				info, err := os.Stat(path)
				ts.Check(err)
				ts.Check(os.Truncate(path, info.Size()/2))
			},
		},
		Setup: func(e *testscript.Env) error {
			demo, err := filepath.Abs("../../examples/courses/owl-demo")
			if err != nil {
				return err
			}
			e.Setenv("DEMO_COURSE", demo)
			// A clean environment: no OWL_* setting leaks in from the caller.
			for _, kv := range os.Environ() {
				if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OWL_") {
					e.Setenv(k, "")
				}
			}
			return nil
		},
	})
}

// startOwl runs the owl command as a child process and returns it with the
// landing page URL it printed.
func startOwl(t *testing.T, args ...string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	return spawnOwl(t, regexp.MustCompile(`landing page\s+(http://\S+/)`), args...)
}

// spawnOwl runs the owl command (this test binary, as testscript.Main
// arranges) as a child process and returns it with the first submatch of re
// in its standard output.
func spawnOwl(t *testing.T, re *regexp.Regexp, args ...string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "owl")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// testscript.Main runs main when the binary is called by a command name.
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-urlc:
		return cmd, u, &stderr
	case <-time.After(30 * time.Second):
		t.Fatalf("owl %s printed nothing matching %s; stderr:\n%s", strings.Join(args, " "), re, stderr.String())
		return nil, "", nil
	}
}

func TestUpServesAndStopsOnInterrupt(t *testing.T) {
	data := t.TempDir()
	cmd, url, stderr := startOwl(t, "up", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data", data)
	for _, path := range []string{"healthz", "readyz", "", "metrics"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// Components may take a moment to get ready (the trace UI reads the
		// access logs once first); readiness must come, not be instant.
		for deadline := time.Now().Add(20 * time.Second); path == "readyz" && resp.StatusCode != 200 && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			if resp, err = http.Get(url + path); err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if resp.StatusCode != 200 {
			t.Errorf("GET /%s = %d: %s", path, resp.StatusCode, body)
		}
		if path == "" && !strings.Contains(string(body), `data-component="web"`) {
			t.Errorf("landing page does not list the web component:\n%s", body)
		}
	}

	interruptOwl(t, cmd, stderr)
	if !strings.Contains(stderr.String(), `"msg":"owl stopped"`) {
		t.Errorf("no clean-stop log line; stderr:\n%s", stderr)
	}
}

func TestServeFailsWhenPortIsTaken(t *testing.T) {
	_, url, _ := startOwl(t, "up", "--addr", "127.0.0.1:0", "--admin-addr", "", "--data", t.TempDir())
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	var stdout, stderr strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, []string{"serve", "--target=all", "--addr", addr, "--admin-addr", "", "--data", t.TempDir(), "--log-format", "json"}, func(string) string { return "" }, nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "listen on "+addr) {
		t.Fatalf("serve on a taken port: err = %v", err)
	}
	if code := exitCode(err, io.Discard); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
}

func TestUsageExitCodes(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, args := range [][]string{
		{"up", "--nope"},
		{"up", "--http-read-timeout=soon"},
		{"serve"},
		{"serve", "--target=frobnicate"},
		{"serve", "--target=all", "--bogus"},
		{"serve", "--target=all", "stray"},
		{"frob"},
		{"config", "frob"},
		{"config", "print", "--target=nope"},
		{"version", "extra"},
	} {
		err := run(context.Background(), args, noEnv, nil, io.Discard, io.Discard)
		if code := exitCode(err, io.Discard); code != 2 {
			t.Errorf("owl %s: exit code %d (err %v), want 2", strings.Join(args, " "), code, err)
		}
	}
}

// interruptOwl sends SIGINT to an owl child process and requires it to exit
// with status 0 within 10 seconds.
func interruptOwl(t *testing.T, cmd *exec.Cmd, stderr *strings.Builder) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("owl after SIGINT: %v; stderr:\n%s", err, stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("owl did not stop after SIGINT; stderr:\n%s", stderr)
	}
}
