package smsalibaba

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
)

// maxPushBody bounds one push of replies or receipts.
const maxPushBody = 1 << 20

type uplink struct {
	PhoneNumber string `json:"phone_number"`
	Content     string `json:"content"`
}

type report struct {
	Success bool   `json:"success"`
	ErrCode string `json:"err_code"`
}

// PushHandler serves Alibaba Cloud's HTTP batch push of uplink replies
// (SmsUp, kind "up") and delivery receipts (SmsReport, kind "report"). The
// push is not signed, so the handler requires token, a secret in the
// configured URL's query (?token=...). Each reply's sender and text go to
// reply; receipts go to receipt.
func PushHandler(token string, reply func(ctx context.Context, from, body string) error, receipt func(status string), log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" || subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("token")), []byte(token)) != 1 {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxPushBody)
		var raw []json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
			http.Error(w, "expected a JSON array", http.StatusBadRequest)
			return
		}
		kind := r.PathValue("kind")
		for _, item := range raw {
			switch kind {
			case "up":
				var u uplink
				if json.Unmarshal(item, &u) != nil {
					continue
				}
				if err := reply(r.Context(), u.PhoneNumber, u.Content); err != nil {
					log.Warn("sms: uplink reply not processed", "provider", "alibaba", "err", err)
					writeAnswer(w, 1, "reply not processed")
					return
				}
			case "report":
				var rp report
				if json.Unmarshal(item, &rp) == nil && receipt != nil {
					status := "delivered"
					if !rp.Success {
						status = "failed"
					}
					receipt(status)
				}
			default:
				http.NotFound(w, r)
				return
			}
		}
		writeAnswer(w, 0, "成功")
	})
}

// writeAnswer writes the acknowledgement Alibaba Cloud expects; a non-zero
// code makes it push again later.
func writeAnswer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "msg": msg})
}
