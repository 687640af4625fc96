package session

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var openAPI []byte

// Routes registers the session API on mux.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/sessions", s.handleSessions)
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}
