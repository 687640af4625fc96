package smssim

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const twilioDate = time.RFC1123Z // "Mon, 02 Jan 2006 15:04:05 -0700", as Twilio writes dates

func (s *Simulator) twilioAuth(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || r.PathValue("sid") != TwilioAccountSID ||
		subtle.ConstantTimeCompare([]byte(user), []byte(TwilioAccountSID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(TwilioAuthToken)) != 1 {
		s.stats.auth.Add(1)
		twilioFail(w, 401, 20003, "Authenticate")
		return false
	}
	return true
}

func twilioFail(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"code": code, "message": msg, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status,
	})
}

func (s *Simulator) twilioResource(r Record, status string) map[string]any {
	return map[string]any{
		"sid": r.MessageID, "account_sid": TwilioAccountSID, "to": r.To, "from": TwilioFrom, "body": r.Body,
		"status": status, "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
		"date_created": r.SentAt.Format(twilioDate), "date_updated": r.SentAt.Format(twilioDate),
		"date_sent": r.SentAt.Format(twilioDate), "price": nil, "error_code": nil, "error_message": nil,
		"uri": "/2010-04-01/Accounts/" + TwilioAccountSID + "/Messages/" + r.MessageID + ".json",
	}
}

func (s *Simulator) twilioCreate(w http.ResponseWriter, r *http.Request) {
	if !s.twilioAuth(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioFail(w, 400, 21602, "Message body is required.")
		return
	}
	s.delay(r.Context())
	to, body := r.PostForm.Get("To"), r.PostForm.Get("Body")
	if body == "" {
		twilioFail(w, 400, 21602, "Message body is required.")
		return
	}
	if r.PostForm.Get("From") == "" && r.PostForm.Get("MessagingServiceSid") == "" {
		twilioFail(w, 400, 21603, "The 'From' phone number is required.")
		return
	}
	validity := 14400
	if v := r.PostForm.Get("ValidityPeriod"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 36000 {
			twilioFail(w, 400, 21623, "ValidityPeriod must be between 1 and 36000 seconds.")
			return
		}
		validity = n
	}
	switch phoneProblem(to) {
	case "invalid":
		s.stats.rejected.Add(1)
		// Like Twilio, the message names the number; owl must not log it.
		twilioFail(w, 400, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	case "landline":
		s.stats.rejected.Add(1)
		twilioFail(w, 400, 21614, fmt.Sprintf("'To' number %s is not a valid mobile number", to))
		return
	}
	if s.isOptedOut(to) {
		s.stats.rejected.Add(1)
		twilioFail(w, 400, 21610, "Attempt to send to unsubscribed recipient")
		return
	}
	fault := s.fault()
	switch fault {
	case "throttle":
		s.stats.throttled.Add(1)
		w.Header().Set("Retry-After", "1")
		twilioFail(w, 429, 20429, "Too Many Requests")
		return
	case "5xx-before":
		s.stats.serverErrors.Add(1)
		twilioFail(w, 500, 20500, "Internal Server Error")
		return
	}
	rec := &Record{MessageID: fmt.Sprintf("SM%032x", uint64(time.Now().UnixNano())^uint64(s.nextSeq())<<32), To: to, Template: "text", API: "twilio", Body: body, Validity: validity}
	if err := s.accept(rec); err != nil {
		twilioFail(w, 500, 20500, "Internal Server Error")
		return
	}
	switch fault {
	case "5xx-after":
		s.stats.serverErrors.Add(1)
		twilioFail(w, 503, 20503, "Service Unavailable")
		return
	case "timeout":
		s.stats.timeouts.Add(1)
		s.hang(r.Context())
	}
	// The receipt goroutine may be marking rec delivered: copy it under the lock.
	s.mu.Lock()
	snap := *rec
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, s.twilioResource(snap, "queued"))
}

func (s *Simulator) twilioList(w http.ResponseWriter, r *http.Request) {
	if !s.twilioAuth(w, r) {
		return
	}
	s.stats.lookups.Add(1)
	q := r.URL.Query()
	to := q.Get("To")
	day := q.Get("DateSent")
	if len(day) >= 10 {
		day = day[:10] // YYYY-MM-DD, or the date of an RFC 3339 time
	}
	size, _ := strconv.Atoi(q.Get("PageSize"))
	if size <= 0 || size > 1000 {
		size = 50
	}
	page, _ := strconv.Atoi(q.Get("Page"))
	now := s.o.Now()
	s.mu.Lock()
	var match []Record
	src := s.all
	if to != "" {
		src = s.byTo[to]
	}
	for _, rec := range src {
		if rec.API == "twilio" && (day == "" || rec.SentAt.UTC().Format(time.DateOnly) == day) && s.visible(rec, now) {
			match = append(match, *rec)
		}
	}
	s.mu.Unlock()
	msgs := []map[string]any{}
	for i := page * size; i < len(match) && i < (page+1)*size; i++ {
		status := "sent"
		if match[i].Delivered {
			status = "delivered"
		}
		msgs = append(msgs, s.twilioResource(match[i], status))
	}
	base := "/2010-04-01/Accounts/" + TwilioAccountSID + "/Messages.json"
	var next any
	if (page+1)*size < len(match) {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("Page", strconv.Itoa(page+1))
		v.Set("PageSize", strconv.Itoa(size))
		next = base + "?" + v.Encode()
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"messages": msgs, "page": page, "page_size": size, "first_page_uri": base, "next_page_uri": next,
		"previous_page_uri": nil, "start": page * size, "end": page*size + len(msgs), "uri": r.URL.RequestURI(),
	})
}

// TwilioSignature computes the X-Twilio-Signature of a webhook request: the
// base64 HMAC-SHA1, keyed with the auth token, of the URL followed by every
// form field name and value in name order.
func TwilioSignature(authToken, fullURL string, form map[string]string) string {
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range sortedKeys(form) {
		b.WriteString(k)
		b.WriteString(form[k])
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (s *Simulator) postSignedForm(target string, form map[string]string) error {
	v := url.Values{}
	for k, x := range form {
		v.Set(k, x)
	}
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(v.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", TwilioSignature(TwilioAuthToken, target, form))
	resp, err := s.webhooks.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
