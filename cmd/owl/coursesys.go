package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"time"

	"github.com/owlstack/owl/examples/courses"
	"github.com/owlstack/owl/internal/coursecache"
	"github.com/owlstack/owl/internal/coursestore"
	"github.com/owlstack/owl/internal/landing"
	"github.com/owlstack/owl/internal/runner"
)

// startCourses registers the course half of the session generator in
// owl up: a local course store under the data folder (the demo course is
// published to it on first start) and the in-memory course cache that
// refreshes from it.
func startCourses(ctx context.Context, p *process, data string) (*coursecache.Cache, error) {
	storeDir := filepath.Join(data, "courses", "store")
	store, err := coursestore.Open(ctx, storeDir)
	if err != nil {
		return nil, err
	}
	if _, err := store.Manifest(ctx, courses.DemoID); errors.Is(err, coursestore.ErrNotFound) {
		demo, err := fs.Sub(courses.Demo, courses.DemoID)
		if err != nil {
			return nil, err
		}
		snap, err := compileFS(demo, courses.DemoID, courses.DemoID)
		if err != nil {
			return nil, fmt.Errorf("demo course: %w", err)
		}
		m, _, err := store.Publish(ctx, snap)
		if err != nil {
			return nil, fmt.Errorf("demo course: %w", err)
		}
		p.log.Info("published the demo course", "course", m.Course, "version", m.Version, "store", storeDir)
	} else if err != nil {
		return nil, err
	}

	cache := coursecache.New(store, coursecache.Options{
		Dir:      filepath.Join(data, "courses", "cache"),
		Interval: 10 * time.Second,
		Jitter:   2 * time.Second,
		Timeout:  5 * time.Second,
	}, p.log.With("component", "courses"), p.reg)
	cache.LoadDisk()
	cache.Refresh(ctx) // a local store answers at once; owl up starts ready
	p.health.Add("courses", cache.Ready)
	p.add(runner.Component{Name: "courses", Run: func(ctx context.Context) error {
		defer store.Close()
		return cache.Run(ctx)
	}}, landing.Entry{
		Description: "compiled courses in memory, refreshed from the course store (" + storeDir + ")",
		Link:        "/v1/courses",
	})
	p.mux.HandleFunc("GET /v1/courses", func(w http.ResponseWriter, r *http.Request) { serveCourseList(w, cache) })
	return cache, nil
}

// courseInfo describes one course being served, in GET /v1/courses.
type courseInfo struct {
	Course      string      `json:"course"`
	Version     int64       `json:"version"`
	SHA256      string      `json:"sha256"`
	PublishedAt time.Time   `json:"published_at"`
	LoadedAt    time.Time   `json:"loaded_at"`
	Target      string      `json:"target_language"`
	Source      string      `json:"source_language"`
	Skills      []skillInfo `json:"skills"`
}

type skillInfo struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Levels     int    `json:"levels"`
	Words      int    `json:"words"`
	Phrases    int    `json:"phrases"`
	Challenges int    `json:"challenges"`
}

func serveCourseList(w http.ResponseWriter, cache *coursecache.Cache) {
	out := []courseInfo{}
	for _, id := range cache.List() {
		e, ok := cache.Get(id)
		if !ok {
			continue
		}
		info := courseInfo{
			Course: id, Version: e.Manifest.Version, SHA256: e.Manifest.SHA256,
			PublishedAt: e.Manifest.PublishedAt, LoadedAt: e.LoadedAt,
			Target: e.Course.Course.Target.Code, Source: e.Course.Course.Source.Code,
		}
		for _, s := range e.Course.Skills {
			info.Skills = append(info.Skills, skillInfo{ID: s.ID, Name: s.Name, Levels: s.Levels, Words: len(s.Words), Phrases: len(s.Phrases), Challenges: len(s.Challenges)})
		}
		out = append(out, info)
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"courses": out}) // a client gone away is not our error
}
