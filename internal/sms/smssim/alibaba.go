package smssim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// alibabaParams merges the query and form parameters of an RPC request.
func alibabaParams(r *http.Request) (url.Values, error) {
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.Form, nil
}

// rpcSignature computes the RPC signature version 1.0 (HMAC-SHA1) of params.
func rpcSignature(method string, params url.Values, secret string) string {
	p := url.Values{}
	for k, v := range params {
		if k != "Signature" {
			p[k] = v
		}
	}
	canon := p.Encode()
	canon = strings.ReplaceAll(canon, "+", "%20")
	canon = strings.ReplaceAll(canon, "*", "%2A")
	canon = strings.ReplaceAll(canon, "%7E", "~")
	toSign := method + "&%2F&" + url.QueryEscape(canon)
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type aliError struct {
	status int
	code   string
	msg    string
}

func (s *Simulator) aliReply(w http.ResponseWriter, status int, body map[string]any) {
	body["RequestId"] = fmt.Sprintf("%08X-SIM-%d", time.Now().UnixNano()&0xffffffff, time.Now().UnixNano())
	writeJSON(w, status, body)
}

func (s *Simulator) aliFail(w http.ResponseWriter, e aliError) {
	s.aliReply(w, e.status, map[string]any{"Code": e.code, "Message": e.msg})
}

// alibabaAuth checks the signature, timestamp and nonce of an RPC request.
func (s *Simulator) alibabaAuth(r *http.Request, p url.Values) *aliError {
	if p.Get("AccessKeyId") != AlibabaAccessKeyID {
		return &aliError{404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."}
	}
	if p.Get("SignatureMethod") != "HMAC-SHA1" || p.Get("SignatureVersion") != "1.0" {
		return &aliError{400, "IncompleteSignature", "The request signature does not conform to Aliyun standards."}
	}
	want := rpcSignature(r.Method, p, AlibabaAccessKeySecret)
	if !hmac.Equal([]byte(want), []byte(p.Get("Signature"))) {
		return &aliError{400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."}
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", p.Get("Timestamp"))
	if err != nil || time.Since(ts).Abs() > 15*time.Minute {
		return &aliError{400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."}
	}
	nonce := p.Get("SignatureNonce")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.nonces[nonce]; seen || nonce == "" {
		return &aliError{400, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}
	now := time.Now()
	s.nonces[nonce] = now
	if len(s.nonces) > 100000 {
		for k, t := range s.nonces {
			if now.Sub(t) > 15*time.Minute {
				delete(s.nonces, k)
			}
		}
	}
	return nil
}

func (s *Simulator) alibaba(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p, err := alibabaParams(r)
	if err != nil {
		s.aliFail(w, aliError{400, "InvalidParameter", "Malformed request parameters."})
		return
	}
	if e := s.alibabaAuth(r, p); e != nil {
		s.stats.auth.Add(1)
		s.aliFail(w, *e)
		return
	}
	switch p.Get("Action") {
	case "SendSms":
		phones := strings.Split(p.Get("PhoneNumbers"), ",")
		if len(phones) > 1000 {
			s.aliFail(w, aliError{200, "isv.MOBILE_COUNT_OVER_LIMIT", "SendSms takes at most 1000 phone numbers."})
			return
		}
		// One sign name and one parameter set for every number.
		signs, params := make([]string, len(phones)), make([]string, len(phones))
		for i := range phones {
			signs[i], params[i] = p.Get("SignName"), p.Get("TemplateParam")
		}
		s.aliSend(w, r, p, phones, signs, params)
	case "SendBatchSms":
		var phones, signs, params []string
		if json.Unmarshal([]byte(p.Get("PhoneNumberJson")), &phones) != nil ||
			json.Unmarshal([]byte(p.Get("SignNameJson")), &signs) != nil {
			s.aliFail(w, aliError{200, "isv.INVALID_JSON_PARAM", "JSON parameter is invalid."})
			return
		}
		var raw []json.RawMessage
		if tp := p.Get("TemplateParamJson"); tp != "" {
			if json.Unmarshal([]byte(tp), &raw) != nil {
				s.aliFail(w, aliError{200, "isv.INVALID_JSON_PARAM", "JSON parameter is invalid."})
				return
			}
			for _, x := range raw {
				params = append(params, string(x))
			}
		}
		switch {
		case len(phones) > 100:
			s.aliFail(w, aliError{200, "isv.MOBILE_COUNT_OVER_LIMIT", "SendBatchSms takes at most 100 phone numbers."})
			return
		case len(signs) != len(phones) || params != nil && len(params) != len(phones):
			s.aliFail(w, aliError{200, "isv.INVALID_PARAMETERS", "SignNameJson and TemplateParamJson must have one entry per phone number."})
			return
		}
		if params == nil {
			params = make([]string, len(phones))
		}
		s.aliSend(w, r, p, phones, signs, params)
	case "QuerySendDetails":
		s.aliQuery(w, p)
	default:
		s.aliFail(w, aliError{404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."})
	}
}

func (s *Simulator) aliSend(w http.ResponseWriter, r *http.Request, p url.Values, phones, signs, params []string) {
	s.delay(r.Context())
	if p.Get("TemplateCode") == "" {
		s.aliFail(w, aliError{200, "isv.SMS_TEMPLATE_ILLEGAL", "The template does not exist."})
		return
	}
	if len(phones) == 0 || len(phones) == 1 && phones[0] == "" {
		s.aliFail(w, aliError{200, "isv.MOBILE_COUNT_OVER_LIMIT", "No phone number."})
		return
	}
	// Alibaba takes numbers without '+': mainland numbers bare, others with
	// their country code. The call is all or nothing: one bad or blocked
	// number refuses it whole.
	recipients := make([]string, len(phones))
	for i, ph := range phones {
		e164, problem := aliNumber(ph)
		if problem != "" {
			s.stats.rejected.Add(1)
			// The real service names the number; the message never reaches owl's logs.
			s.aliFail(w, aliError{200, "isv.MOBILE_NUMBER_ILLEGAL", "Invalid mobile number " + ph + "."})
			return
		}
		if s.isOptedOut(e164) || s.overDailyLimit(e164) {
			s.stats.rejected.Add(1)
			s.aliFail(w, aliError{200, "isv.BUSINESS_LIMIT_CONTROL", "Business limit control triggered."})
			return
		}
		recipients[i] = e164
	}
	fault := s.fault()
	switch fault {
	case "throttle":
		s.stats.throttled.Add(1)
		s.aliFail(w, aliError{200, "Throttling.User", "Request was denied due to user flow control."})
		return
	case "5xx-before":
		s.stats.serverErrors.Add(1)
		s.aliFail(w, aliError{500, "InternalError", "The request processing has failed due to some unknown error."})
		return
	}
	if p.Get("Action") == "SendBatchSms" {
		s.stats.batches.Add(1)
	}
	// One BizId for the call; each message gets its own id in the ledger.
	bizID := fmt.Sprintf("%d^%d", time.Now().UnixMicro(), s.nextSeq())
	for i, to := range recipients {
		rec := &Record{MessageID: bizID, BizID: bizID, To: to, Template: p.Get("TemplateCode"), API: "alibaba", Ref: p.Get("OutId"), Sign: signs[i], Params: params[i]}
		if len(recipients) > 1 {
			rec.MessageID = bizID + "-" + strconv.Itoa(i)
		}
		if err := s.accept(rec); err != nil {
			s.aliFail(w, aliError{500, "InternalError", "ledger unavailable"})
			return
		}
	}
	switch fault {
	case "5xx-after":
		s.stats.serverErrors.Add(1)
		s.aliFail(w, aliError{503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."})
		return
	case "timeout":
		s.stats.timeouts.Add(1)
		s.hang(r.Context())
	}
	s.aliReply(w, http.StatusOK, map[string]any{"Code": "OK", "Message": "OK", "BizId": bizID})
}

func (s *Simulator) nextSeq() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq
}

func (s *Simulator) aliQuery(w http.ResponseWriter, p url.Values) {
	s.stats.lookups.Add(1)
	phone := p.Get("PhoneNumber")
	day := p.Get("SendDate")
	size, _ := strconv.Atoi(p.Get("PageSize"))
	page, _ := strconv.Atoi(p.Get("CurrentPage"))
	if phone == "" || len(day) != 8 || size < 1 || size > 50 || page < 1 {
		s.aliFail(w, aliError{200, "isv.INVALID_PARAMETERS", "PhoneNumber, SendDate (yyyyMMdd), PageSize (1-50) and CurrentPage are required."})
		return
	}
	e164 := aliE164(phone)
	now := s.o.Now()
	s.mu.Lock()
	var match []Record
	for _, r := range s.byTo[e164] {
		if r.API == "alibaba" && r.SentAt.In(s.beijing).Format("20060102") == day && s.visible(r, now) {
			match = append(match, *r)
		}
	}
	s.mu.Unlock()
	if bizID := p.Get("BizId"); bizID != "" {
		var m2 []Record
		for _, r := range match {
			if r.BizID == bizID {
				m2 = append(m2, r)
			}
		}
		match = m2
	}
	var dtos []map[string]any
	for i := (page - 1) * size; i < len(match) && i < page*size; i++ {
		r := match[i]
		status := 1 // waiting for receipt
		if r.Delivered {
			status = 3
		}
		dtos = append(dtos, map[string]any{
			"PhoneNum": phone, "SendStatus": status, "ErrCode": "DELIVERED", "TemplateCode": r.Template,
			"Content": "【" + r.Sign + "】" + r.Params, "SendDate": r.SentAt.In(s.beijing).Format(time.DateTime),
			"ReceiveDate": r.SentAt.In(s.beijing).Format(time.DateTime), "OutId": r.Ref,
		})
	}
	s.aliReply(w, http.StatusOK, map[string]any{
		"Code": "OK", "Message": "OK", "TotalCount": len(match),
		"SmsSendDetailDTOs": map[string]any{"SmsSendDetailDTO": dtos},
	})
}

// aliE164 reads a number as the API takes it: a mainland mobile number
// without country code, or country code and number.
func aliE164(ph string) string {
	e164, _ := aliNumber(ph)
	return e164
}

// aliNumber is aliE164 with the number's phoneProblem, which it knows
// already for a mainland number: checking a number is most of the
// simulator's work in a batch.
func aliNumber(ph string) (e164, problem string) {
	ph = strings.TrimPrefix(ph, "+")
	if len(ph) == 11 && strings.HasPrefix(ph, "1") {
		if cn := "+86" + ph; phoneProblem(cn) == "" {
			return cn, ""
		}
	}
	e164 = "+" + ph
	return e164, phoneProblem(e164)
}
