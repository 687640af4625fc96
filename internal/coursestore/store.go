// Package coursestore publishes course snapshots to a blob store and reads
// them back, through gocloud.dev/blob: a local folder (file://) by default,
// S3 or any S3-compatible store (s3://) at scale.
//
// Layout of a store:
//
//	snapshots/<sha256>.owlc        immutable snapshot files, named by payload checksum
//	courses/<course>/manifest.json the current snapshot of a course and its version
//
// A publish writes the snapshot first and the manifest last, so a reader never
// sees a manifest that points to a missing snapshot. Each publish of a changed
// course increments the manifest's version, so readers can refuse to go back.
package coursestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs
	_ "gocloud.dev/blob/s3blob"   // s3:// URLs
	"gocloud.dev/gcerrors"

	"github.com/owlstack/owl/internal/course/snapshot"
)

// Manifest names the current snapshot of one course.
type Manifest struct {
	Course string `json:"course"`
	// SHA256 is the payload checksum of the snapshot, which also names it.
	SHA256 string `json:"sha256"`
	// Version increases by one with every publish that changes the course.
	Version         int64     `json:"version"`
	Size            int64     `json:"size"`
	CourseVersion   string    `json:"course_version"`
	CompilerVersion string    `json:"compiler_version"`
	PublishedAt     time.Time `json:"published_at"`
}

// SnapshotKey is the key of the snapshot file the manifest names.
func (m Manifest) SnapshotKey() string { return SnapshotKey(m.SHA256) }

// SnapshotKey is the key of the snapshot with the given payload checksum.
func SnapshotKey(sha string) string { return "snapshots/" + sha + snapshot.Extension }

// ManifestKey is the key of a course's manifest.
func ManifestKey(courseID string) string { return "courses/" + courseID + "/manifest.json" }

// ErrNotFound is returned for a course or snapshot that the store lacks.
var ErrNotFound = errors.New("not found")

var courseIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)

// ValidateCourseID checks that id can name a course in a store and in URLs.
func ValidateCourseID(id string) error {
	if !courseIDPattern.MatchString(id) {
		return fmt.Errorf("course id %q: expected lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 128 characters", id)
	}
	return nil
}

// Store is a course store on a blob bucket.
type Store struct {
	bucket *blob.Bucket
	url    string
	now    func() time.Time
}

// Open opens the store at a gocloud.dev/blob URL, such as
// file:///var/lib/owl/store or
// s3://bucket?region=eu-west-1&endpoint=http://127.0.0.1:9000&use_path_style=true.
// A plain path, with no scheme, is a local folder, created when missing.
func Open(ctx context.Context, url string) (*Store, error) {
	if !strings.Contains(url, "://") {
		dir, err := filepath.Abs(url)
		if err != nil {
			return nil, fmt.Errorf("open course store %s: %w", url, err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open course store: %w", err)
		}
		url = "file://" + filepath.ToSlash(dir) + "?metadata=skip"
	}
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open course store %s: %w", redactURL(url), err)
	}
	return &Store{bucket: b, url: url, now: time.Now}, nil
}

// New wraps an open bucket; the store takes ownership of it.
func New(b *blob.Bucket) *Store { return &Store{bucket: b, now: time.Now} }

// Close closes the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// redactURL drops the query of a store URL, which may carry credentials.
func redactURL(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}

// Publish uploads a snapshot file and makes it the current snapshot of its
// course. Publishing the snapshot that is already current changes nothing
// and reports changed false.
func (s *Store) Publish(ctx context.Context, data []byte) (m Manifest, changed bool, err error) {
	h, _, err := snapshot.ReadHeader(data)
	if err != nil {
		return Manifest{}, false, fmt.Errorf("publish: %w", err)
	}
	if err := ValidateCourseID(h.CourseID); err != nil {
		return Manifest{}, false, fmt.Errorf("publish: %w", err)
	}
	cur, err := s.Manifest(ctx, h.CourseID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return Manifest{}, false, fmt.Errorf("publish %s: %w", h.CourseID, err)
	case cur.SHA256 == h.SHA256:
		if ok, err := s.bucket.Exists(ctx, cur.SnapshotKey()); err == nil && ok {
			return cur, false, nil
		}
	}

	key := SnapshotKey(h.SHA256)
	if ok, err := s.bucket.Exists(ctx, key); err != nil {
		return Manifest{}, false, fmt.Errorf("publish %s: %w", h.CourseID, err)
	} else if !ok {
		if err := s.bucket.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: "application/vnd.owl.course-snapshot"}); err != nil {
			return Manifest{}, false, fmt.Errorf("publish %s: upload snapshot: %w", h.CourseID, err)
		}
	}
	m = Manifest{
		Course:          h.CourseID,
		SHA256:          h.SHA256,
		Version:         cur.Version + 1,
		Size:            int64(len(data)),
		CourseVersion:   h.CourseVersion,
		CompilerVersion: h.CompilerVersion,
		PublishedAt:     s.now().UTC().Truncate(time.Millisecond),
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, false, err
	}
	if err := s.bucket.WriteAll(ctx, ManifestKey(h.CourseID), append(mb, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return Manifest{}, false, fmt.Errorf("publish %s: write manifest: %w", h.CourseID, err)
	}
	return m, true, nil
}

// Manifest reads the manifest of a course.
func (s *Store) Manifest(ctx context.Context, courseID string) (Manifest, error) {
	if err := ValidateCourseID(courseID); err != nil {
		return Manifest{}, err
	}
	data, err := s.bucket.ReadAll(ctx, ManifestKey(courseID))
	if gcerrors.Code(err) == gcerrors.NotFound {
		return Manifest{}, fmt.Errorf("course %s: %w", courseID, ErrNotFound)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest of %s: %w", courseID, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("manifest of %s: %w", courseID, err)
	}
	if m.Course != courseID || m.SHA256 == "" || m.Version < 1 {
		return Manifest{}, fmt.Errorf("manifest of %s: inconsistent (course %q, sha256 %q, version %d)", courseID, m.Course, m.SHA256, m.Version)
	}
	return m, nil
}

// Snapshot reads the snapshot file a manifest names. It does not verify
// it: callers decode it, which does.
func (s *Store) Snapshot(ctx context.Context, m Manifest) ([]byte, error) {
	data, err := s.bucket.ReadAll(ctx, m.SnapshotKey())
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("snapshot %s of %s: %w", m.SHA256, m.Course, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s of %s: %w", m.SHA256, m.Course, err)
	}
	return data, nil
}

// Courses lists the ids of the courses that have a manifest.
func (s *Store) Courses(ctx context.Context) ([]string, error) {
	var ids []string
	it := s.bucket.List(&blob.ListOptions{Prefix: "courses/", Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return ids, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list courses: %w", err)
		}
		if obj.IsDir {
			id := path.Base(strings.TrimSuffix(obj.Key, "/"))
			if ValidateCourseID(id) == nil {
				ids = append(ids, id)
			}
		}
	}
}
