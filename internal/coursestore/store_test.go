package coursestore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/coursegen"
	"github.com/owlstack/owl/internal/course/librelingo"
	"github.com/owlstack/owl/internal/course/snapshot"
)

// compile builds a small generated course as a snapshot; version tells
// snapshots of the same course apart.
func compile(t testing.TB, id, version string) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := coursegen.Write(dir, coursegen.Options{Words: 8, Phrases: 6, Modules: 1, SkillsPerModule: 2, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	c, _, err := librelingo.Load(dir, librelingo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := snapshot.Compile(snapshot.Header{CourseID: id, CourseVersion: version, CompilerVersion: "test"}, c, course.Derive(c))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func fileStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), "file://"+t.TempDir()+"?metadata=skip")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// s3Server runs an in-process S3 server; wrap may alter its behaviour.
func s3Server(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("courses"); err != nil {
		t.Fatal(err)
	}
	h := gofakes3.New(backend).Server()
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return fmt.Sprintf("s3://courses?region=us-east-1&endpoint=%s&use_path_style=true&disable_https=true", ts.URL)
}

func s3Store(t *testing.T, wrap func(http.Handler) http.Handler) *Store {
	t.Helper()
	s, err := Open(context.Background(), s3Server(t, wrap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPublishAndRead(t *testing.T) {
	for name, open := range map[string]func(*testing.T) *Store{
		"file": fileStore,
		"s3":   func(t *testing.T) *Store { return s3Store(t, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
			s.now = func() time.Time { return now }

			if _, err := s.Manifest(ctx, "demo"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Manifest of an empty store: %v, want ErrNotFound", err)
			}
			v1 := compile(t, "demo", "1")
			m1, changed, err := s.Publish(ctx, v1)
			if err != nil || !changed || m1.Version != 1 || !m1.PublishedAt.Equal(now) {
				t.Fatalf("first publish = %+v, %v, %v", m1, changed, err)
			}
			// Publishing the same snapshot again changes nothing.
			m, changed, err := s.Publish(ctx, v1)
			if err != nil || changed || m.Version != 1 {
				t.Fatalf("republish = %+v, %v, %v", m, changed, err)
			}
			m2, changed, err := s.Publish(ctx, compile(t, "demo", "2"))
			if err != nil || !changed || m2.Version != 2 || m2.SHA256 == m1.SHA256 {
				t.Fatalf("second publish = %+v, %v, %v", m2, changed, err)
			}
			got, err := s.Manifest(ctx, "demo")
			if err != nil || got != m2 {
				t.Fatalf("Manifest = %+v, %v; want %+v", got, err, m2)
			}
			data, err := s.Snapshot(ctx, got)
			if err != nil {
				t.Fatal(err)
			}
			if h, _, err := snapshot.ReadHeader(data); err != nil || h.SHA256 != m2.SHA256 || h.CourseVersion != "2" {
				t.Fatalf("snapshot read back: %+v, %v", h, err)
			}
			// The older snapshot stays: a reader holding the old manifest can still fetch it.
			if _, err := s.Snapshot(ctx, m1); err != nil {
				t.Errorf("old snapshot gone: %v", err)
			}
			if _, _, err := s.Publish(ctx, compile(t, "other", "1")); err != nil {
				t.Fatal(err)
			}
			ids, err := s.Courses(ctx)
			if err != nil || fmt.Sprint(ids) != "[demo other]" {
				t.Errorf("Courses = %v, %v", ids, err)
			}
		})
	}
}

func TestPublishRejectsBadInput(t *testing.T) {
	s := fileStore(t)
	ctx := context.Background()
	if _, _, err := s.Publish(ctx, []byte("not a snapshot")); !errors.Is(err, snapshot.ErrCorrupt) {
		t.Errorf("publish garbage: %v", err)
	}
	if _, _, err := s.Publish(ctx, compile(t, "Bad Id!", "1")); err == nil {
		t.Error("publish with an invalid course id succeeded")
	}
	if ids, _ := s.Courses(ctx); len(ids) != 0 {
		t.Errorf("a rejected publish left courses %v", ids)
	}
}

func TestMissingSnapshot(t *testing.T) {
	s := fileStore(t)
	ctx := context.Background()
	m, _, err := s.Publish(ctx, compile(t, "demo", "1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.bucket.Delete(ctx, m.SnapshotKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Snapshot(ctx, m); !errors.Is(err, ErrNotFound) {
		t.Errorf("Snapshot of a deleted object: %v, want ErrNotFound", err)
	}
	// Publishing the same content again repairs the store.
	if _, changed, err := s.Publish(ctx, compile(t, "demo", "1")); err != nil || !changed {
		t.Fatalf("republish after loss = %v, %v", changed, err)
	}
	if _, err := s.Snapshot(ctx, m); err != nil {
		t.Errorf("snapshot not restored: %v", err)
	}
}

func TestS3StoreFailures(t *testing.T) {
	var mode atomic.Value
	mode.Store("ok")
	s := s3Store(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch mode.Load() {
			case "fail":
				http.Error(w, "<Error><Code>InternalError</Code></Error>", http.StatusInternalServerError)
			case "hang":
				<-r.Context().Done()
			default:
				next.ServeHTTP(w, r)
			}
		})
	})
	ctx := context.Background()
	if _, _, err := s.Publish(ctx, compile(t, "demo", "1")); err != nil {
		t.Fatal(err)
	}
	mode.Store("fail")
	if _, err := s.Manifest(ctx, "demo"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Manifest from a failing store: %v, want a non-NotFound error", err)
	}
	mode.Store("hang")
	hctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := s.Manifest(hctx, "demo"); err == nil {
		t.Error("Manifest from a hanging store returned no error")
	}
	mode.Store("ok")
	if _, err := s.Manifest(ctx, "demo"); err != nil {
		t.Errorf("store did not recover: %v", err)
	}
}

func TestValidateCourseID(t *testing.T) {
	for id, ok := range map[string]bool{
		"spanish-from-english": true, "es.en_2": true, "0": true,
		"": false, "Spanish": false, "a/b": false, "-x": false, "../up": false,
	} {
		if err := ValidateCourseID(id); (err == nil) != ok {
			t.Errorf("ValidateCourseID(%q) = %v", id, err)
		}
	}
}
