package smstwilio

import (
	"context"
	"log/slog"
	"net/http"

	twclient "github.com/twilio/twilio-go/client"
)

// maxWebhookBody bounds an inbound webhook request.
const maxWebhookBody = 64 << 10

// InboundHandler serves Twilio's inbound-message webhook at publicURL (the
// URL configured at Twilio, which the signature covers). It checks
// X-Twilio-Signature with the auth token and passes each reply's sender
// and text to reply; delivery status callbacks go to receipt.
func InboundHandler(authToken, publicURL string, reply func(ctx context.Context, from, body string) error, receipt func(status string), log *slog.Logger) http.Handler {
	v := twclient.NewRequestValidator(authToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		params := map[string]string{}
		for k, vs := range r.PostForm {
			if len(vs) > 0 {
				params[k] = vs[0]
			}
		}
		if !v.Validate(publicURL, params, r.Header.Get("X-Twilio-Signature")) {
			http.Error(w, "invalid signature", http.StatusForbidden)
			return
		}
		if st := params["MessageStatus"]; st != "" && params["Body"] == "" {
			if receipt != nil {
				receipt(st)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err := reply(r.Context(), params["From"], params["Body"]); err != nil {
			log.Warn("sms: inbound reply not processed", "provider", "twilio", "err", err)
			http.Error(w, "reply not processed", http.StatusInternalServerError)
			return
		}
		// An empty TwiML answer: no automatic reply.
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte("<Response></Response>"))
	})
}
