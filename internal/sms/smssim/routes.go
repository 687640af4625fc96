package smssim

import (
	"encoding/json"
	"net/http"
)

// Handler serves the simulated APIs:
//
//	GET|POST /                                       Alibaba Cloud SMS (RPC: Action=SendSms, SendBatchSms, QuerySendDetails)
//	POST     /2010-04-01/Accounts/{sid}/Messages.json Twilio: create a message
//	GET      /2010-04-01/Accounts/{sid}/Messages.json Twilio: list messages (To, DateSent)
//	GET      /sim/messages?to=E164                    the ledger, for tests
//	GET      /sim/stats                               counters, for tests and benchmarks
//	POST     /sim/reply                               make a recipient reply (api, to, body)
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", s.alibaba)
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.twilioCreate)
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Messages.json", s.twilioList)
	mux.HandleFunc("GET /sim/messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Messages(r.URL.Query().Get("to")))
	})
	mux.HandleFunc("GET /sim/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /sim/reply", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Reply(r.FormValue("api"), r.FormValue("to"), r.FormValue("body")); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client gone away is not our error
}
