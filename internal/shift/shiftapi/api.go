// Package shiftapi serves the shift controller's JSON HTTP API (admin token
// required) and its web page: the shifts with their split, step, state,
// per-side metrics of the last analyses, and history.
package shiftapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/shift"
)

// Store is what the API reads and writes (shiftstore.Store).
type Store interface {
	List(ctx context.Context) ([]*shift.Shift, error)
	Get(ctx context.Context, name string) (*shift.Shift, error)
	History(ctx context.Context, name string, limit int) ([]shift.Event, error)
	Create(ctx context.Context, sh *shift.Shift) error
	Enqueue(ctx context.Context, name string, cmd shift.Command, by string, now time.Time) (shift.Request, error)
}

// Server is the API and page over a store.
type Server struct {
	Store Store
	// Token is the admin token every API call must carry as
	// "Authorization: Bearer TOKEN".
	Token string
	// PublicPage serves the read-only page without the token (owl up).
	PublicPage bool
	Now        func() time.Time
	Log        *slog.Logger
}

// MaxSpecBytes bounds a spec posted to the API.
const MaxSpecBytes = 1 << 20

// Routes registers the API and the page on mux:
//
//	GET  /api/v1/shifts                    every shift's status: {"shifts":[Status...]}
//	POST /api/v1/shifts                    start a shift from a YAML spec (the body)
//	GET  /api/v1/shifts/{name}             one shift's status
//	GET  /api/v1/shifts/{name}/history     its history: {"events":[Event...]} (?limit=N)
//	POST /api/v1/shifts/{name}/{command}   pause, resume, promote or abort
//	GET  /shifts/                          the page
func (s *Server) Routes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/shifts", s.auth(http.HandlerFunc(s.list)))
	mux.Handle("POST /api/v1/shifts", s.auth(http.HandlerFunc(s.start)))
	mux.Handle("GET /api/v1/shifts/{name}", s.auth(http.HandlerFunc(s.get)))
	mux.Handle("GET /api/v1/shifts/{name}/history", s.auth(http.HandlerFunc(s.history)))
	mux.Handle("POST /api/v1/shifts/{name}/{command}", s.auth(http.HandlerFunc(s.command)))
	var page http.Handler = http.HandlerFunc(s.page)
	if !s.PublicPage {
		page = s.auth(page)
	}
	mux.Handle("GET /shifts/{$}", page)
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// auth lets a request through only with the admin token. The hashes make
// the comparison constant-time whatever the lengths.
func (s *Server) auth(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(tok))
		if !ok || s.Token == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="owl shift"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong admin token (Authorization: Bearer TOKEN)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // a client gone away is not our error
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// fail maps a store error to a status at this one boundary.
func (s *Server) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, shift.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, shift.ErrExists), errors.Is(err, shift.ErrFinal):
		writeError(w, http.StatusConflict, err.Error())
	default:
		s.log().Error("shift API", "err", err)
		writeError(w, http.StatusServiceUnavailable, "shift store unavailable")
	}
}

// List is the body of GET /api/v1/shifts.
type List struct {
	Shifts []shift.Status `json:"shifts"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	shifts, err := s.Store.List(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	out := List{Shifts: []shift.Status{}}
	for _, sh := range shifts {
		out.Shifts = append(out.Shifts, shift.StatusOf(sh))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	sh, err := s.Store.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, shift.StatusOf(sh))
}

// History is the body of GET /api/v1/shifts/{name}/history.
type History struct {
	Events []shift.Event `json:"events"`
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want a count >= 0", v))
			return
		}
		limit = n
	}
	name := r.PathValue("name")
	if _, err := s.Store.Get(r.Context(), name); err != nil {
		s.fail(w, err)
		return
	}
	events, err := s.Store.History(r.Context(), name, limit)
	if err != nil {
		s.fail(w, err)
		return
	}
	if events == nil {
		events = []shift.Event{}
	}
	writeJSON(w, http.StatusOK, History{Events: events})
}

func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSpecBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("spec larger than %d bytes", MaxSpecBytes))
		return
	}
	spec, err := shift.ParseSpec("spec", body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sh := shift.New(spec, s.now())
	if err := s.Store.Create(r.Context(), sh); err != nil {
		s.fail(w, err)
		return
	}
	s.log().Info("shift started", "shift", sh.Name, "from", spec.From.Name, "to", spec.To.Name)
	writeJSON(w, http.StatusCreated, shift.StatusOf(sh))
}

func (s *Server) command(w http.ResponseWriter, r *http.Request) {
	cmd, err := shift.ParseCommand(r.PathValue("command"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	by := r.URL.Query().Get("by")
	if by == "" {
		by = "api"
	}
	if len(by) > 64 {
		writeError(w, http.StatusBadRequest, "by: at most 64 characters")
		return
	}
	req, err := s.Store.Enqueue(r.Context(), r.PathValue("name"), cmd, by, s.now())
	if err != nil {
		s.fail(w, err)
		return
	}
	s.log().Info("shift request", "shift", req.Shift, "command", string(cmd), "by", by)
	writeJSON(w, http.StatusAccepted, req)
}
