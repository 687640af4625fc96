package traceui

import "net/http"

// Routes registers the UI's pages and JSON endpoints on mux, under the prefix.
func (u *UI) Routes(mux *http.ServeMux) {
	p := u.prefix
	mux.HandleFunc("GET "+p+"/{$}", u.searchPage)
	mux.HandleFunc("GET "+p+"/trace/{id}", u.tracePage)
	mux.HandleFunc("GET "+p+"/api/search", u.searchJSON)
	mux.HandleFunc("GET "+p+"/api/trace/{id}", u.traceJSON)
	mux.Handle("GET "+p+"/static/", u.static)
	u.analysisRoutes(mux)
}
