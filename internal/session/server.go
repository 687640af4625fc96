package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/owlstack/owl/internal/coursecache"
)

// DefaultMaxRequestBytes bounds a session request body: room for a few
// thousand words of user state with their histories.
const DefaultMaxRequestBytes = 4 << 20

// Courses gives the courses being served; *coursecache.Cache is one.
type Courses interface {
	Get(courseID string) (*coursecache.Entry, bool)
}

// Service serves POST /v1/sessions from courses in memory.
type Service struct {
	gen      *Generator
	courses  Courses
	now      func() time.Time
	log      *slog.Logger
	maxBytes int64
	metrics  *Metrics
	// exchanges holds *exchange values for reuse.
	exchanges sync.Pool
}

// NewService returns the session service. now is the clock used when a
// request has no "now"; maxBytes bounds request bodies (0 takes
// DefaultMaxRequestBytes).
func NewService(gen *Generator, courses Courses, now func() time.Time, maxBytes int64, log *slog.Logger) *Service {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRequestBytes
	}
	return &Service{gen: gen, courses: courses, now: now, log: log, maxBytes: maxBytes,
		exchanges: sync.Pool{New: func() any { return new(exchange) }}}
}

// APIRequest is the JSON body of POST /v1/sessions.
type APIRequest struct {
	Course string `json:"course"`
	Skill  string `json:"skill"`
	Length int    `json:"length,omitempty"`
	Seed   uint64 `json:"seed,omitempty"`
	// Now is an RFC 3339 time; the server's clock when empty.
	Now  string `json:"now,omitempty"`
	User User   `json:"user"`

	// now is nowOf parsed, when decodeRequest checked it.
	now   time.Time
	nowOf string
}

// DecodeRequest reads and checks a session request body. Errors are
// *FieldError, or *http.MaxBytesError for a body over the limit.
func DecodeRequest(r io.Reader) (*APIRequest, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, readError(err)
	}
	req := new(APIRequest)
	var reviews []Review
	var set wordSet
	if err := decodeRequest(data, req, &reviews, &set); err != nil {
		return nil, err
	}
	return req, nil
}

// decodeRequest decodes and checks data into req, reusing req's slices,
// reviews for the histories and set for checking the words. The
// request's strings share data's memory.
func decodeRequest(data []byte, req *APIRequest, reviews *[]Review, set *wordSet) error {
	d := newDecoder(data, *reviews)
	d.hashes = set.of[:0]
	err := d.request(req)
	*reviews = d.reviews
	set.of, set.hashed = d.hashes, len(d.hashes) == len(req.User.Words)
	if err != nil {
		return err
	}
	switch {
	case req.Course == "":
		return fieldErr("course", "is required")
	case req.Skill == "":
		return fieldErr("skill", "is required (a skill Id, or %q)", Practice)
	case req.Length < 0 || req.Length > MaxLength:
		return fieldErr("length", "must be between 1 and %d, got %d", MaxLength, req.Length)
	}
	if req.Now != "" {
		var err error
		if req.now, err = time.Parse(time.RFC3339Nano, req.Now); err != nil {
			return fieldErr("now", "is not an RFC 3339 time: %q", req.Now)
		}
		req.nowOf = req.Now
	}
	return req.User.validate(set)
}

// readError is the error for a body that could not be read.
func readError(err error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return maxErr
	}
	return fieldErr("body", "could not be read: %v", err)
}

// Generate serves one decoded request.
func (s *Service) Generate(req *APIRequest) (*Session, error) {
	return s.generate(req, nil, new(Session))
}

// generate serves a request into dst. A request whose user state is
// checked comes with the hashes of its words (wordSet.of), nil otherwise.
func (s *Service) generate(req *APIRequest, hashes []uint64, dst *Session) (*Session, error) {
	e, ok := s.courses.Get(req.Course)
	if !ok {
		return nil, fieldErr("course", "unknown course %q", req.Course)
	}
	var now time.Time
	switch {
	case req.Now != "" && req.Now == req.nowOf:
		now = req.now
	case req.Now == "":
		now = s.now()
	default:
		var err error
		if now, err = time.Parse(time.RFC3339Nano, req.Now); err != nil {
			return nil, fieldErr("now", "is not an RFC 3339 time: %q", req.Now)
		}
	}
	sess, err := s.gen.generate(e.Course, &Request{Skill: req.Skill, Length: req.Length, Seed: req.Seed, Now: now, User: req.User, hashes: hashes}, hashes != nil, dst)
	if err != nil {
		return nil, err
	}
	sess.CourseVersion = strconv.FormatInt(e.Manifest.Version, 10)
	return sess, nil
}

// exchange is the memory of one request and its answer, reused through a
// pool: the body, the decoded request (whose strings share the body), the
// session and the encoded answer. Nothing decoded from a body outlives its
// request. Beyond net/http's own, a request allocates only its session's
// id: the collector makes a goroutine help it mark in proportion to what
// it allocates, tens of microseconds at a time, while a course refresh
// keeps it busy.
type exchange struct {
	body    bytes.Buffer
	req     APIRequest
	reviews []Review
	words   wordSet
	sess    Session
	out     []byte
}

// Exchanges bigger than this are not kept for reuse, so that one large
// request does not pin its memory.
const maxPooledBytes = 1 << 20

func (s *Service) handleSessions(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		s.observe(start, nil, "unsupported_media_type")
		writeProblem(w, http.StatusUnsupportedMediaType, "header Content-Type", "must be application/json, got "+ct)
		return
	}
	x := s.exchanges.Get().(*exchange)
	defer s.release(x)
	x.body.Reset()
	if n := r.ContentLength; n > 0 && n <= s.maxBytes {
		x.body.Grow(int(n) + bytes.MinRead)
	}
	_, err := x.body.ReadFrom(http.MaxBytesReader(w, r.Body, s.maxBytes))
	if err != nil {
		err = readError(err)
	} else {
		var encErr error
		if err, encErr = s.serve(x); encErr != nil {
			s.observe(start, nil, "internal")
			s.log.Error("encode session", "err", encErr)
			writeProblem(w, http.StatusInternalServerError, "", "the session could not be encoded")
			return
		}
	}
	if err != nil {
		var fe *FieldError
		var maxErr *http.MaxBytesError
		switch {
		case errors.As(err, &maxErr):
			s.observe(start, nil, "too_large")
			writeProblem(w, http.StatusRequestEntityTooLarge, "body", fmt.Sprintf("is larger than %d bytes", maxErr.Limit))
		case errors.As(err, &fe):
			s.observe(start, nil, errorReason(fe))
			writeProblem(w, http.StatusBadRequest, fe.Field, fe.Msg)
		default:
			s.observe(start, nil, "internal")
			s.log.Error("generate session", "err", err)
			writeProblem(w, http.StatusInternalServerError, "", "the session could not be generated")
		}
		return
	}
	s.observe(start, &x.sess, "")
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Content-Length"] = []string{strconv.Itoa(len(x.out))}
	_, _ = w.Write(x.out) // a client gone away is not our error
}

var contentTypeJSON = []string{"application/json"}

// serve decodes the request in x.body, generates its session into x.sess
// and encodes the answer, with its newline, into x.out. err is about the
// request; encErr is owl's own failure to encode the session.
func (s *Service) serve(x *exchange) (err, encErr error) {
	if err := decodeRequest(x.body.Bytes(), &x.req, &x.reviews, &x.words); err != nil {
		return err, nil
	}
	sess, err := s.generate(&x.req, x.words.of, &x.sess)
	if err != nil {
		return err, nil
	}
	x.out, encErr = appendSession(x.out[:0], sess)
	x.out = append(x.out, '\n')
	return nil, encErr
}

func (s *Service) release(x *exchange) {
	if x.body.Cap() > maxPooledBytes || cap(x.out) > maxPooledBytes || cap(x.req.User.Words) > maxPooledBytes/64 {
		return
	}
	// The session points into its course: a pooled one must not keep an
	// old version of the course in memory.
	clear(x.sess.Challenges)
	x.sess = Session{Challenges: x.sess.Challenges[:0]}
	s.exchanges.Put(x)
}

// Problem is an RFC 9457 problem details object, with the request field
// at fault.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field,omitempty"`
}

func writeProblem(w http.ResponseWriter, status int, field, msg string) {
	detail := msg
	if field != "" {
		detail = field + ": " + msg
	}
	data, _ := json.Marshal(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Field: field})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// Ready reports whether at least one course is loaded: a readiness check
// for a session server.
func Ready(c interface{ List() []string }) error {
	if len(c.List()) == 0 {
		return errors.New("no course loaded")
	}
	return nil
}
