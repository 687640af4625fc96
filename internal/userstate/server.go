package userstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/owlstack/owl/internal/memory"
	"github.com/owlstack/owl/internal/session"
)

// MaxResultBytes bounds a results submission body.
const MaxResultBytes = 1 << 20

// Generator generates sessions from a request with the user state injected
// and returns the session's JSON; *SessionClient is one.
type Generator interface {
	Generate(ctx context.Context, req *session.APIRequest) ([]byte, error)
}

// Front serves the learner-facing API: sessions with the learner's state
// injected, and results applied back to it.
type Front struct {
	store   *Store
	gen     Generator
	model   memory.Model
	now     func() time.Time
	log     *slog.Logger
	metrics *frontMetrics
}

type frontMetrics struct {
	sessions *prometheus.CounterVec
	results  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewFront returns the API front over store, calling gen for sessions and
// updating memory state with model; metrics are registered in reg.
func NewFront(store *Store, gen Generator, model memory.Model, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) *Front {
	m := &frontMetrics{
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_apifront_sessions_total", Help: "Sessions requested through the API front, by outcome (ok, bad_request, upstream, error).",
		}, []string{"outcome"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_apifront_results_total", Help: "Graded challenges submitted, by outcome (applied, duplicate).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "owl_apifront_request_duration_seconds", Help: "Time to serve API front requests, by operation (session, results).",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2.5, 10),
		}, []string{"op"}),
	}
	reg.MustRegister(m.sessions, m.results, m.duration)
	return &Front{store: store, gen: gen, model: model, now: now, log: log, metrics: m}
}

// SessionParams are the query parameters of GET /v1/users/{id}/session.
type SessionParams struct {
	Course, Skill string
	Length        int
	Seed          uint64
	// Now is an RFC 3339 time, or empty for the server's clock.
	Now string
}

func parseSessionParams(r *http.Request) (SessionParams, error) {
	q := r.URL.Query()
	p := SessionParams{Course: q.Get("course"), Skill: q.Get("skill"), Now: q.Get("now")}
	if err := CheckID("course", p.Course); err != nil {
		return p, err
	}
	if err := CheckID("skill", p.Skill); err != nil {
		return p, err
	}
	if v := q.Get("length"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > session.MaxLength {
			return p, fieldErr("length", "must be an integer from 0 to %d, got %q", session.MaxLength, v)
		}
		p.Length = n
	}
	if v := q.Get("seed"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return p, fieldErr("seed", "must be an unsigned integer, got %q", v)
		}
		p.Seed = n
	}
	if p.Now != "" {
		if _, err := time.Parse(time.RFC3339Nano, p.Now); err != nil {
			return p, fieldErr("now", "is not an RFC 3339 time: %q", p.Now)
		}
	}
	return p, nil
}

// Session fetches the learner's state and asks the generator for a session
// with it injected; it returns the session's JSON.
func (f *Front) Session(ctx context.Context, userID string, p SessionParams) ([]byte, error) {
	if err := CheckID("id", userID); err != nil {
		return nil, err
	}
	u, err := f.store.User(ctx, userID, p.Course)
	if err != nil {
		return nil, err
	}
	now := p.Now
	if now == "" {
		now = f.now().UTC().Format(time.RFC3339Nano)
	}
	return f.gen.Generate(ctx, &session.APIRequest{Course: p.Course, Skill: p.Skill, Length: p.Length, Seed: p.Seed, Now: now, User: u})
}

func (f *Front) handleSession(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { f.metrics.duration.WithLabelValues("session").Observe(time.Since(start).Seconds()) }()
	p, err := parseSessionParams(r)
	var data []byte
	if err == nil {
		data, err = f.Session(r.Context(), r.PathValue("id"), p)
	}
	if err != nil {
		f.fail(w, "session", err)
		return
	}
	f.metrics.sessions.WithLabelValues("ok").Inc()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data) // a client gone away is not our error
}

func (f *Front) handleResults(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { f.metrics.duration.WithLabelValues("results").Observe(time.Since(start).Seconds()) }()
	userID := r.PathValue("id")
	var sub Submission
	err := CheckID("id", userID)
	if err == nil {
		err = decodeJSON(w, r, &sub)
	}
	var out *Applied
	if err == nil {
		out, err = f.store.Apply(r.Context(), userID, &sub, f.model, f.now())
	}
	if err != nil {
		f.fail(w, "results", err)
		return
	}
	f.metrics.results.WithLabelValues("applied").Add(float64(out.Applied))
	f.metrics.results.WithLabelValues("duplicate").Add(float64(out.Duplicates))
	writeJSON(w, out)
}

// State is the answer of GET /v1/users/{id}/state: the state the front
// injects into session requests for one course.
type State struct {
	Course string       `json:"course"`
	User   session.User `json:"user"`
}

func (f *Front) handleState(w http.ResponseWriter, r *http.Request) {
	userID, courseID := r.PathValue("id"), r.URL.Query().Get("course")
	err := CheckID("id", userID)
	if err == nil {
		err = CheckID("course", courseID)
	}
	var u session.User
	if err == nil {
		u, err = f.store.User(r.Context(), userID, courseID)
	}
	if err != nil {
		f.fail(w, "state", err)
		return
	}
	writeJSON(w, State{Course: courseID, User: u})
}

func (f *Front) handleSettings(w http.ResponseWriter, r *http.Request) {
	userID := r.PathValue("id")
	var st session.Settings
	err := CheckID("id", userID)
	if err == nil {
		err = decodeJSON(w, r, &st)
	}
	if err == nil && (st.Length < 0 || st.Length > session.MaxLength) {
		err = fieldErr("length", "must be between 0 and %d, got %d", session.MaxLength, st.Length)
	}
	if err == nil {
		err = f.store.SetSettings(r.Context(), userID, st, f.now())
	}
	if err != nil {
		f.fail(w, "settings", err)
		return
	}
	writeJSON(w, st)
}

// decodeJSON reads one JSON object into v, strictly.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &statusError{status: http.StatusUnsupportedMediaType, field: "header Content-Type", msg: "must be application/json, got " + ct}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxResultBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return fieldErr("body", "has data after the JSON object")
		}
		return nil
	}
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var timeErr *time.ParseError
	switch {
	case errors.As(err, &maxErr):
		return &statusError{status: http.StatusRequestEntityTooLarge, field: "body", msg: fmt.Sprintf("is larger than %d bytes", maxErr.Limit)}
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return fieldErr(field, "has the wrong type: JSON %s", typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fieldErr("body", "is not valid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.As(err, &timeErr):
		return fieldErr("body", "has a time that is not RFC 3339: %q", timeErr.Value)
	case errors.Is(err, io.EOF):
		return fieldErr("body", "is empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fieldErr("body", "ends in the middle of the JSON object")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fieldErr(strings.Trim(name, `"`), "is not a field of the request")
	}
	return fieldErr("body", "%v", err)
}

type statusError struct {
	status     int
	field, msg string
}

func (e *statusError) Error() string { return e.field + ": " + e.msg }

// fail answers err as problem+json, at the one place errors become
// statuses.
func (f *Front) fail(w http.ResponseWriter, op string, err error) {
	var fe *FieldError
	var sfe *session.FieldError
	var se *statusError
	var ue *UpstreamError
	outcome := "bad_request"
	switch {
	case errors.As(err, &se):
		writeProblem(w, se.status, se.field, se.msg)
	case errors.As(err, &fe):
		writeProblem(w, http.StatusBadRequest, fe.Field, fe.Msg)
	case errors.As(err, &sfe):
		writeProblem(w, http.StatusBadRequest, sfe.Field, sfe.Msg)
	case errors.As(err, &ue) && ue.Problem != nil && ue.Status < 500:
		// The generator found a field at fault (unknown course or skill):
		// the learner's request, not the front, is wrong.
		writeProblem(w, ue.Status, ue.Problem.Field, strings.TrimPrefix(ue.Problem.Detail, ue.Problem.Field+": "))
	case errors.As(err, &ue):
		outcome = "upstream"
		f.log.Error(op, "err", err)
		writeProblem(w, http.StatusBadGateway, "", "the session generator failed or is unreachable")
	case errors.Is(err, context.Canceled):
		outcome = "canceled"
		writeProblem(w, 499, "", "the request was canceled")
	default:
		outcome = "error"
		f.log.Error(op, "err", err)
		writeProblem(w, http.StatusInternalServerError, "", "the request could not be served")
	}
	if op == "session" {
		f.metrics.sessions.WithLabelValues(outcome).Inc()
	}
}

func writeProblem(w http.ResponseWriter, status int, field, msg string) {
	detail := msg
	if field != "" {
		detail = field + ": " + msg
	}
	title := http.StatusText(status)
	if title == "" {
		title = "Client Closed Request"
	}
	data, _ := json.Marshal(session.Problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Field: field})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func writeJSON(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "", "the answer could not be encoded")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(data, '\n'))
}
