package shiftproxy

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/shift"
)

// The proxy benchmark compares three ways to reach the same upstream from
// the same load client in the same run, all on 127.0.0.1: directly, through
// owl's proxy (in its own process, as nginx is) and through nginx with
// split_clients and keep-alive upstreams. Run it with
//
//	go test ./internal/shift/shiftproxy -run '^$' -bench ProxyVsNginx -benchtime 1x
var (
	benchRound       = flag.Duration("proxy-bench-round", 500*time.Millisecond, "length of one load round of BenchmarkProxyVsNginx")
	benchRounds      = flag.Int("proxy-bench-rounds", 7, "rounds per target of BenchmarkProxyVsNginx (interleaved; the median counts)")
	benchConcurrency = flag.Int("proxy-bench-conns", 32, "keep-alive connections of the load client")
)

// benchChildEnv makes the test binary a standalone proxy process.
const benchChildEnv = "OWL_SHIFTPROXY_BENCH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(benchChildEnv) != "" {
		if err := runBenchChild(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runBenchChild serves owl's proxy between the upstreams named in the
// environment, prints its address, and stops when stdin closes.
func runBenchChild() error {
	from, err := url.Parse(os.Getenv("FROM_URL"))
	if err != nil {
		return err
	}
	to, err := url.Parse(os.Getenv("TO_URL"))
	if err != nil {
		return err
	}
	p, err := New(Options{Shift: "bench", From: Upstream{Label: "ecs", URL: from}, To: Upstream{Label: "eks", URL: to},
		Initial: shift.Split{ToBP: 3000}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if path := os.Getenv("OWL_SHIFTPROXY_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Println("listening", ln.Addr())
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	_, err = io.Copy(io.Discard, os.Stdin)
	if err != nil {
		err = fmt.Errorf("read stdin: %w", err)
	}
	err = errors.Join(err, srv.Close())
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("serve: %w", serr))
	}
	return err
}

// body3K is the upstream's answer: 3 KB, as in the measurement.
var body3K = bytes.Repeat([]byte("owl shift proxy benchmark body.\n"), 96)

func startUpstream(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	length := []string{strconv.Itoa(len(body3K))}
	ctype := []string{"text/plain"}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Length"] = length
		h["Content-Type"] = ctype
		w.Write(body3K)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	b.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			b.Errorf("upstream: %v", err)
		}
	})
	return ln.Addr().String()
}

func startOwlChild(b *testing.B, from, to string) (string, int) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), benchChildEnv+"=1", "FROM_URL=http://"+from, "TO_URL=http://"+to)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close() // the child stops when its stdin closes
		if err := cmd.Wait(); err != nil {
			b.Errorf("owl proxy process: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		b.Fatalf("owl proxy process: %q, %v", line, err)
	}
	return addr, cmd.Process.Pid
}

func startNginx(b *testing.B, bin, from, to string) (string, int) {
	dir := b.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;" // run as the current user, not nobody
	}
	for _, d := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`%s
worker_processes auto;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[2]s/tmp/body;
    proxy_temp_path %[2]s/tmp/proxy;
    fastcgi_temp_path %[2]s/tmp/fastcgi;
    uwsgi_temp_path %[2]s/tmp/uwsgi;
    scgi_temp_path %[2]s/tmp/scgi;
    upstream from { server %[3]s; keepalive 128; }
    upstream to { server %[4]s; keepalive 128; }
    split_clients "${http_x_owl_user}" $shift_side {
        30%% to;
        *    from;
    }
    server {
        listen %[5]s;
        keepalive_requests 1000000;
        location / {
            proxy_pass http://$shift_side;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`, user, dir, from, to, addr)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", path, "-e", filepath.Join(dir, "logs", "error.log"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		// SIGINT is nginx's fast shutdown; a process that cannot be
		// signalled has exited already, and Wait reports how.
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			b.Logf("stop nginx: %v", err)
		}
		if err := cmd.Wait(); err != nil {
			b.Errorf("nginx: %v\n%s", err, stderr.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			b.Fatalf("nginx did not start: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loadResult is one round of load against one address.
type loadResult struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
	// cpuPerReq is the CPU time the proxy's processes spent per request:
	// unlike throughput, it hardly depends on what else the machine runs.
	cpuPerReq time.Duration
}

// processCPU returns the CPU time (user + system) used so far by pid and
// its child processes (nginx's workers), from /proc.
func processCPU(pid int) (time.Duration, error) {
	pids := []int{pid}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n == pid {
			continue
		}
		if f := statFields(n); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			pids = append(pids, n)
		}
	}
	var ticks int64
	for _, p := range pids {
		f := statFields(p)
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil // USER_HZ is 100 on Linux
}

// statFields returns the fields of /proc/pid/stat after the command name:
// state, ppid, ... (utime is index 11, stime 12).
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// runLoad keeps conns keep-alive connections busy against addr for d and
// measures every request. The client is hand-written HTTP/1.1 over TCP so
// that it costs as little CPU as possible: the machine is shared with the
// proxies it measures.
func runLoad(addr string, conns int, d time.Duration) (loadResult, error) {
	var wg sync.WaitGroup
	lat := make([][]time.Duration, conns)
	errs := make([]error, conns)
	start := time.Now()
	deadline := start.Add(d)
	for i := range conns {
		wg.Go(func() {
			lat[i], errs[i] = loadConn(addr, i, deadline)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	var res loadResult
	for i := range conns {
		all = append(all, lat[i]...)
		if errs[i] != nil {
			res.errors++
		}
	}
	if len(all) == 0 {
		return res, fmt.Errorf("no request completed against %s: %w", addr, errors.Join(errs...))
	}
	slices.Sort(all)
	res.rps = float64(len(all)) / elapsed.Seconds()
	res.p50 = all[len(all)/2]
	res.p99 = all[len(all)*99/100]
	return res, nil
}

func loadConn(addr string, id int, deadline time.Time) ([]time.Duration, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// Requests of 64 users per connection, so that the split applies.
	reqs := make([][]byte, 64)
	for i := range reqs {
		reqs[i] = fmt.Appendf(nil, "GET /v1/sessions HTTP/1.1\r\nHost: %s\r\nX-Owl-User: user-%d-%d\r\n\r\n", addr, id, i)
	}
	br := bufio.NewReaderSize(c, 64<<10)
	lat := make([]time.Duration, 0, 1<<14)
	for n := 0; ; n++ {
		t0 := time.Now()
		if t0.After(deadline) {
			return lat, nil
		}
		if _, err := c.Write(reqs[n%len(reqs)]); err != nil {
			return lat, err
		}
		if err := readResponse(br); err != nil {
			return lat, err
		}
		lat = append(lat, time.Since(t0))
	}
}

// readResponse reads one response with a Content-Length body and checks
// that it is a 200.
func readResponse(br *bufio.Reader) error {
	length := -1
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if first {
			if !bytes.HasPrefix(line, []byte("HTTP/1.1 200")) {
				return fmt.Errorf("status line %q", line)
			}
			continue
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return fmt.Errorf("content-length %q", v)
			}
		}
	}
	if length < 0 {
		return errors.New("response without Content-Length")
	}
	_, err := br.Discard(length)
	return err
}

func BenchmarkProxyVsNginx(b *testing.B) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr == nil {
			nginx = "/usr/sbin/nginx"
		} else {
			b.Skip("nginx is not installed (apt-get install -y nginx): no baseline to compare owl's proxy with")
		}
	}
	from, to := startUpstream(b), startUpstream(b)
	owlAddr, owlPid := startOwlChild(b, from, to)
	nginxAddr, nginxPid := startNginx(b, nginx, from, to)
	targets := []struct {
		name, addr string
		pid        int
	}{
		{"direct", from, 0},
		{"owl", owlAddr, owlPid},
		{"nginx", nginxAddr, nginxPid},
	}
	// Warm up every path: connections, nginx workers, the Go runtime.
	for _, t := range targets {
		if _, err := runLoad(t.addr, *benchConcurrency, 200*time.Millisecond); err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
	}
	results := map[string][]loadResult{}
	for b.Loop() {
		clear(results)
		for range *benchRounds {
			for _, t := range targets {
				var cpu0 time.Duration
				if t.pid != 0 {
					cpu0, _ = processCPU(t.pid)
				}
				r, err := runLoad(t.addr, *benchConcurrency, *benchRound)
				if err != nil {
					b.Fatalf("%s: %v", t.name, err)
				}
				if t.pid != 0 {
					cpu1, _ := processCPU(t.pid)
					r.cpuPerReq = time.Duration(float64(cpu1-cpu0) / (r.rps * benchRound.Seconds()))
				}
				if r.errors > 0 {
					b.Fatalf("%s: %d connections failed", t.name, r.errors)
				}
				results[t.name] = append(results[t.name], r)
			}
		}
	}
	med := map[string]loadResult{}
	cpu := map[string]time.Duration{}
	for name, rs := range results {
		slices.SortFunc(rs, func(a, b loadResult) int { return int(a.cpuPerReq - b.cpuPerReq) })
		cpu[name] = rs[len(rs)/2].cpuPerReq
		slices.SortFunc(rs, func(a, b loadResult) int { return int(a.rps - b.rps) })
		med[name] = rs[len(rs)/2]
	}
	for _, name := range []string{"direct", "owl", "nginx"} {
		r := med[name]
		b.ReportMetric(r.rps, name+"_req/s")
		b.ReportMetric(float64(r.p50.Microseconds()), name+"_p50_us")
		b.ReportMetric(float64(r.p99.Microseconds()), name+"_p99_us")
	}
	b.ReportMetric(med["owl"].rps/med["nginx"].rps, "owl/nginx")
	b.ReportMetric(med["owl"].rps/med["direct"].rps, "owl/direct")
	b.ReportMetric(med["nginx"].rps/med["direct"].rps, "nginx/direct")
	// Throughput on a saturated machine is cores / CPU per request, so the
	// inverse CPU ratio is the throughput ratio that other load on a
	// shared machine does not skew.
	b.ReportMetric(float64(cpu["owl"].Microseconds()), "owl_cpu_us/req")
	b.ReportMetric(float64(cpu["nginx"].Microseconds()), "nginx_cpu_us/req")
	b.ReportMetric(float64(cpu["nginx"])/float64(cpu["owl"]), "owl/nginx_by_cpu")
}

// BenchmarkServeHTTP measures the proxy's own cost per request, with its
// allocations, against an in-process upstream.
func BenchmarkServeHTTP(b *testing.B) {
	from, to := startUpstream(b), startUpstream(b)
	p, err := New(Options{Shift: "bench", From: Upstream{URL: &url.URL{Scheme: "http", Host: from}}, To: Upstream{URL: &url.URL{Scheme: "http", Host: to}},
		Initial: shift.Split{ToBP: 3000}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://proxy/v1/sessions", nil)
	req.RemoteAddr = "127.0.0.1:5000"
	req.Header.Set(DefaultUserHeader, "user-1")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		p.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
