package fleetpage

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/migrate"
)

func TestPage(t *testing.T) {
	loads := 0
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	p := &Page{
		Source: "demo fleet",
		TTL:    10 * time.Second,
		Load: func(context.Context) (*migrate.Fleet, []error) {
			loads++
			return migrate.BuildFleet(migrate.FleetInput{
				Report: &migrate.Report{Services: []*migrate.ServiceReport{{Service: "web", Team: "web"}, {Service: "jobs", Team: "batch"}}},
				Shifts: []migrate.ShiftStatus{{Name: "web", State: "progressing", Percent: 10}},
			}), []error{errors.New("argo cd: connection refused")}
		},
		nowFor: func() time.Time { return now },
	}
	mux := http.NewServeMux()
	p.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	body := get(t, srv.URL+"/migrate/")
	for _, want := range []string{`data-service="web"`, "shifting 10%", `data-team="batch"`, "argo cd: connection refused", "demo fleet"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	var f struct {
		Services []migrate.FleetService `json:"services"`
		Errors   []string               `json:"errors"`
	}
	if err := json.Unmarshal([]byte(get(t, srv.URL+"/api/v1/migrate/fleet")), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Services) != 2 || len(f.Errors) != 1 {
		t.Errorf("json: %+v", f)
	}
	if loads != 1 {
		t.Errorf("loaded %d times within the TTL, want 1", loads)
	}
	now = now.Add(11 * time.Second)
	get(t, srv.URL+"/migrate/")
	if loads != 2 {
		t.Errorf("loaded %d times after the TTL, want 2", loads)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return string(b)
}
