package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
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
}

// NewService returns the session service. now is the clock used when a
// request has no "now"; maxBytes bounds request bodies (0 takes
// DefaultMaxRequestBytes).
func NewService(gen *Generator, courses Courses, now func() time.Time, maxBytes int64, log *slog.Logger) *Service {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRequestBytes
	}
	return &Service{gen: gen, courses: courses, now: now, log: log, maxBytes: maxBytes}
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
}

// DecodeRequest reads and checks a session request body. Errors are
// *FieldError, or *http.MaxBytesError for a body over the limit.
func DecodeRequest(r io.Reader) (*APIRequest, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var req APIRequest
	if err := dec.Decode(&req); err != nil {
		return nil, decodeError(err)
	}
	if dec.More() {
		return nil, fieldErr("body", "has more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fieldErr("body", "has data after the JSON object")
	}
	switch {
	case req.Course == "":
		return nil, fieldErr("course", "is required")
	case req.Skill == "":
		return nil, fieldErr("skill", "is required (a skill Id, or %q)", Practice)
	case req.Length < 0 || req.Length > MaxLength:
		return nil, fieldErr("length", "must be between 1 and %d, got %d", MaxLength, req.Length)
	}
	if req.Now != "" {
		if _, err := time.Parse(time.RFC3339Nano, req.Now); err != nil {
			return nil, fieldErr("now", "is not an RFC 3339 time: %q", req.Now)
		}
	}
	if err := req.User.Validate(); err != nil {
		return nil, err
	}
	return &req, nil
}

func decodeError(err error) error {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var timeErr *time.ParseError
	switch {
	case errors.As(err, &maxErr):
		return maxErr
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return fieldErr(field, "must be %s, got JSON %s", typeName(typeErr), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fieldErr("body", "is not valid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.As(err, &timeErr):
		return fieldErr("user.words", "has a time that is not RFC 3339: %q", timeErr.Value)
	case errors.Is(err, io.EOF):
		return fieldErr("body", "is empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fieldErr("body", "ends in the middle of the JSON object")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fieldErr(strings.Trim(f, `"`), "is not a field of the request")
	}
	return fieldErr("body", "%v", err)
}

func typeName(e *json.UnmarshalTypeError) string {
	if e.Type == nil {
		return "another type"
	}
	switch e.Type.Kind().String() {
	case "int", "int64", "uint64", "int32", "uint8":
		return "an integer"
	case "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return e.Type.String()
}

// Generate serves one decoded request.
func (s *Service) Generate(req *APIRequest) (*Session, error) {
	e, ok := s.courses.Get(req.Course)
	if !ok {
		return nil, fieldErr("course", "unknown course %q", req.Course)
	}
	now := s.now()
	if req.Now != "" {
		now, _ = time.Parse(time.RFC3339Nano, req.Now) // checked by DecodeRequest
	}
	sess, err := s.gen.Generate(e.Course, Request{Skill: req.Skill, Length: req.Length, Seed: req.Seed, Now: now, User: req.User})
	if err != nil {
		return nil, err
	}
	sess.CourseVersion = strconv.FormatInt(e.Manifest.Version, 10)
	return sess, nil
}

func (s *Service) handleSessions(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		s.observe(start, nil, "unsupported_media_type")
		writeProblem(w, http.StatusUnsupportedMediaType, "header Content-Type", "must be application/json, got "+ct)
		return
	}
	req, err := DecodeRequest(http.MaxBytesReader(w, r.Body, s.maxBytes))
	var sess *Session
	if err == nil {
		sess, err = s.Generate(req)
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
	data, err := json.Marshal(sess)
	if err != nil {
		s.observe(start, nil, "internal")
		s.log.Error("encode session", "err", err)
		writeProblem(w, http.StatusInternalServerError, "", "the session could not be encoded")
		return
	}
	s.observe(start, sess, "")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)+1))
	_, _ = w.Write(append(data, '\n')) // a client gone away is not our error
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
