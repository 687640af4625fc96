package shiftproxy

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/owlstack/owl/internal/shift"
)

func TestWeightsAPI(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	api := httptest.NewServer(f.proxy.Handler("s3cret"))
	defer api.Close()
	ctx := context.Background()

	// Without the token, writes are refused; reads are not.
	anon := &Client{BaseURL: api.URL}
	if err := anon.SetWeights(ctx, shift.Split{ToBP: 100}, 1); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("write without token: %v, want 401", err)
	}
	c := &Client{BaseURL: api.URL, Token: "s3cret"}
	var dp shift.DataPlane = c
	if err := dp.SetWeights(ctx, shift.Split{ToBP: 2500}, 7); err != nil {
		t.Fatal(err)
	}
	if s, err := dp.ReadWeights(ctx); err != nil || s.ToBP != 2500 {
		t.Fatalf("read back %v, %v", s, err)
	}
	if s, _ := f.proxy.ReadWeights(ctx); s.ToBP != 2500 {
		t.Fatalf("proxy applies %v", s)
	}
	if err := dp.SetWeights(ctx, shift.Split{ToBP: 0}, 6); !errors.Is(err, shift.ErrStaleFence) {
		t.Fatalf("stale fence over the API: %v", err)
	}
	capa, err := dp.Capacity(ctx, shift.To)
	if err != nil || !capa.Healthy() {
		t.Fatalf("capacity %+v, %v", capa, err)
	}
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"to_bp": 20000, "fence": 9}`, 400},
		{`{"fence": 9}`, 400},
		{`{"to_bp": 1}`, 400},
		{`{"to_bp": 1, "fence": 9, "x": 1}`, 400},
		{`not json`, 400},
	} {
		req, _ := http.NewRequest("PUT", api.URL+WeightsPath, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("PUT %s: status %d, want %d", tc.body, resp.StatusCode, tc.want)
		}
	}
	resp, err := http.Get(api.URL + CapacityPath + "?side=sideways")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("capacity of an unknown side: %d", resp.StatusCode)
	}
}

func TestEmptyTokenRefusesWrites(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	api := httptest.NewServer(f.proxy.Handler(""))
	defer api.Close()
	req, _ := http.NewRequest("PUT", api.URL+WeightsPath, strings.NewReader(`{"to_bp":1,"fence":1}`))
	req.Header.Set("Authorization", "Bearer ")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
}

func FuzzDecodeWeightsRequest(f *testing.F) {
	f.Add([]byte(`{"to_bp":2500,"fence":3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeWeightsRequest(bytes.NewReader(data))
		if err != nil {
			return
		}
		if req.ToBP < 0 || req.ToBP > shift.FullBP {
			t.Fatalf("accepted to_bp %d", req.ToBP)
		}
	})
}
