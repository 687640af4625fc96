package smssystem

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"

	"github.com/owlstack/owl/internal/sms"
)

//go:embed report.html
var reportHTML string

var reportTmpl = template.Must(template.New("report").Parse(reportHTML))

// Routes registers the report page and its JSON API on mux:
//
//	GET /sms/                      the latest batches' reports (HTML)
//	GET /api/v1/sms/reports/{date} one batch's report (JSON)
func (s *System) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /sms/{$}", s.servePage)
	mux.HandleFunc("GET /api/v1/sms/reports/{date}", s.serveReport)
}

func (s *System) servePage(w http.ResponseWriter, r *http.Request) {
	dates, err := s.DB.Q().Dates(r.Context(), 14)
	if err != nil {
		http.Error(w, "reports unavailable", http.StatusServiceUnavailable)
		return
	}
	var reports []*sms.Report
	for _, d := range dates {
		rep, err := s.Report(r.Context(), d)
		if err != nil {
			http.Error(w, "reports unavailable", http.StatusServiceUnavailable)
			return
		}
		reports = append(reports, rep)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = reportTmpl.Execute(w, struct { // a client gone away is not our error
		Reports []*sms.Report
		Now     string
	}{reports, s.now().Format("2006-01-02 15:04:05 MST")})
}

func (s *System) serveReport(w http.ResponseWriter, r *http.Request) {
	d, err := sms.ParseDate(r.PathValue("date"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rep, err := s.Report(r.Context(), d)
	if err != nil {
		http.Error(w, "report unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(rep)
}
