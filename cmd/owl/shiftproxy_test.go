package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/config"
	"github.com/owlstack/owl/internal/httpserver"
	"github.com/owlstack/owl/internal/runner"
	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/shiftproxy"
)

func TestServeShiftProxyTarget(t *testing.T) {
	sides := map[string]*httptest.Server{}
	for _, name := range []string{"ecs", "eks"} {
		sides[name] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
		defer sides[name].Close()
	}
	data := t.TempDir()
	url := startOwlPrinting(t, regexp.MustCompile(` at (http://\S+);`),
		"serve", "--target=shift-proxy", "--addr", "127.0.0.1:0", "--admin-addr", "", "--shift", "orders",
		"--from", sides["ecs"].URL, "--to", sides["eks"].URL, "--from-label", "ecs", "--to-label", "eks",
		"--admin-token", "tok", "--data", data)
	waitReady(t, url)
	ask := func(user string) string {
		req, _ := http.NewRequest("GET", url+"/orders/1", nil)
		req.Header.Set(traceUserHeader, user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := ask("u1"); got != "ecs" {
		t.Fatalf("at weight 0 a request went to %q", got)
	}
	ctx := context.Background()
	if err := (&shiftproxy.Client{BaseURL: url, Token: "wrong"}).SetWeights(ctx, shift.Split{ToBP: 10000}, 1); err == nil {
		t.Fatal("a wrong admin token changed the weights")
	}
	c := &shiftproxy.Client{BaseURL: url, Token: "tok"}
	if err := c.SetWeights(ctx, shift.Split{ToBP: 10000}, 1); err != nil {
		t.Fatal(err)
	}
	if got := ask("u1"); got != "eks" {
		t.Fatalf("at weight 100%% a request went to %q", got)
	}
	if capa, err := c.Capacity(ctx, shift.To); err != nil || !capa.Healthy() {
		t.Fatalf("capacity of eks %+v, %v", capa, err)
	}
	if status, body := get(t, url+"/metrics"); status != 200 || !strings.Contains(body, `owl_shift_proxy_requests_total{code="200",shift="orders",side="eks"} 1`) {
		t.Errorf("metrics lack the eks request:\n%s", body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		log, _ := os.ReadFile(filepath.Join(data, "logs", "access.jsonl"))
		if strings.Contains(string(log), `"attrs":{"side":"eks"}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the access log has no record with side eks:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestShiftProxyDemoServesSessionsOnBothSides(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p, err := newProcess(&env{stderr: io.Discard, stdout: io.Discard}, config.Log{Level: "error", Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	cache, err := startCourses(ctx, p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(p.mux)
	defer web.Close()
	proxy, err := startShiftProxyDemo(p, cache, web.URL, httpserver.DefaultOptions, 50)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx, p.log, stopTimeout, p.components...) }()
	httpserver.HandleOps(p.mux, p.health, p.reg)
	var dp shift.DataPlane = proxy
	for _, bp := range []int{0, 10000} {
		if err := dp.SetWeights(ctx, shift.Split{ToBP: bp}, 1); err != nil {
			t.Fatal(err)
		}
		side := map[int]string{0: "ecs", 10000: "eks"}[bp]
		deadline := time.Now().Add(10 * time.Second)
		for {
			capa, err := dp.Capacity(ctx, shift.To)
			if err == nil && capa.Healthy() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the eks session generator never became healthy: %+v %v", capa, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		status, s := postSession(t, web.URL+shiftDemoPrefix, demoSessionBody)
		if status != 200 || s["course"] != "owl-demo" {
			t.Fatalf("session through the proxy at %d bp: %d %v", bp, status, s)
		}
		_, metrics := get(t, web.URL+"/metrics")
		if !regexp.MustCompile(`owl_shift_proxy_requests_total\{code="200",shift="` + shiftDemoName + `",side="` + side + `"\} [1-9]`).MatchString(metrics) {
			t.Fatalf("no 200 counted on side %s:\n%s", side, metrics)
		}
	}
	if status, body := get(t, web.URL+shiftproxy.WeightsPath); status != 200 || !strings.Contains(body, `"to_bp":10000`) {
		t.Fatalf("weights API: %d %s", status, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
