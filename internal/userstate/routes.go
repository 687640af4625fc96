package userstate

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var openAPI []byte

// Routes registers the API front on mux.
func (f *Front) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/users/{id}/session", f.handleSession)
	mux.HandleFunc("POST /v1/users/{id}/results", f.handleResults)
	mux.HandleFunc("GET /v1/users/{id}/state", f.handleState)
	mux.HandleFunc("PUT /v1/users/{id}/settings", f.handleSettings)
}

// ServeOpenAPI serves the OpenAPI 3.1 document of the API front.
func ServeOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}
