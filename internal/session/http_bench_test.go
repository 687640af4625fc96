package session

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/coursestore"
)

// BenchmarkHTTP measures POST /v1/sessions with a 500-word user against a
// baseline in the same run: a bare net/http handler that reads the same
// body and answers a pre-encoded response of the same size, through the
// same client on 127.0.0.1. It reports requests/s, p50 and p99, and the
// ratio of the session server's throughput to the baseline's, twice: with
// one client sending a request at a time (latency-bound), and with
// concurrentClients clients at once, as a load tool drives a server
// (bound by the CPU that client and server share).
func BenchmarkHTTP(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 2,000-word course; skipped with -short")
	}
	c, body := largeRequest(b)
	courses := fakeCourses{c.Header.CourseID: {Course: c, Manifest: coursestore.Manifest{Course: c.Header.CourseID, Version: 1}}}
	svc := NewService(newGenerator(), courses, time.Now, 0, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	svc.Routes(mux)
	sessions := httptest.NewServer(mux)
	defer sessions.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	resp, err := client.Post(sessions.URL+"/v1/sessions", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d: %s", resp.StatusCode, answer)
	}
	answerLength := strconv.Itoa(len(answer))
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		// The same headers as the session server's answer.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", answerLength)
		_, _ = w.Write(answer)
	}))
	defer bare.Close()
	b.Logf("request %d bytes, response %d bytes", len(body), len(answer))

	var baseRate float64
	measure := func(b *testing.B, url string) float64 {
		lat := make([]time.Duration, 0, 1<<16)
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		start := time.Now()
		n := 0
		for b.Loop() {
			t0 := time.Now()
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
			if len(lat) < cap(lat) {
				lat = append(lat, time.Since(t0))
			}
			n++
		}
		rate := float64(n) / time.Since(start).Seconds()
		slices.Sort(lat)
		b.ReportMetric(rate, "req/s")
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		return rate
	}
	b.Run("baseline=bare-handler", func(b *testing.B) { baseRate = measure(b, bare.URL) })
	b.Run("sessions", func(b *testing.B) {
		rate := measure(b, sessions.URL+"/v1/sessions")
		if baseRate > 0 {
			b.ReportMetric(rate/baseRate, "x-baseline-req/s")
		}
	})

	concurrent := func(b *testing.B, url string) float64 {
		b.SetParallelism(max(1, concurrentClients/runtime.GOMAXPROCS(0)))
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
		rate := float64(b.N) / time.Since(start).Seconds()
		b.ReportMetric(rate, "req/s")
		return rate
	}
	baseRate = 0
	b.Run("concurrent/baseline=bare-handler", func(b *testing.B) { baseRate = concurrent(b, bare.URL) })
	b.Run("concurrent/sessions", func(b *testing.B) {
		rate := concurrent(b, sessions.URL+"/v1/sessions")
		if baseRate > 0 {
			b.ReportMetric(rate/baseRate, "x-baseline-req/s")
		}
	})
}

// concurrentClients is how many requests the concurrent half of
// BenchmarkHTTP keeps in flight.
const concurrentClients = 4
