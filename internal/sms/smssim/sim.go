// Package smssim is an SMS provider simulator for development, tests and
// benchmarks. Over HTTPS with a self-signed certificate it speaks the wire
// protocols of the Alibaba Cloud SMS API (SendSms, SendBatchSms and
// QuerySendDetails, RPC signature version 1.0 with HMAC-SHA1, verified) and
// of the Twilio Messages API (Basic auth; create and list messages), so that
// owl's adapters are tested through the providers' official SDKs.
//
// Knobs set the latency distribution, the rates of throttling, 5xx answers
// and timeouts, and how long an accepted message takes to show in the
// provider's records. The simulator sends delivery receipts and inbound
// replies (STOP, TD, 退订) to webhooks, and keeps a ledger of the messages
// it accepted: provider-side data, the only place where owl's numbers
// appear in clear, written to a file of mode 0600.
package smssim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Default credentials of the simulated accounts. They guard nothing real;
// they exist so that the SDKs sign and authenticate as they do in
// production, and the simulator checks them.
const (
	AlibabaAccessKeyID     = "LTAIowlsimulator"
	AlibabaAccessKeySecret = "owl-simulator-secret"
	TwilioAccountSID       = "ACowl0000000000000000000000000000"
	TwilioAuthToken        = "owlsimulatortoken000000000000000"
	TwilioFrom             = "+15005550006"
)

// Options configure a Simulator. The zero value is a fast, faultless
// provider.
type Options struct {
	// Latency is the median time to answer; answers follow a log-normal
	// distribution around it with spread LatencySigma (0: fixed latency).
	Latency      time.Duration
	LatencySigma float64
	// ThrottleRate is the share of sends refused as throttled
	// (Throttling.User, Twilio 20429); nothing is accepted.
	ThrottleRate float64
	// ServerErrorRate is the share of sends answered with HTTP 500; half of
	// them after the message was accepted (the ambiguous case).
	ServerErrorRate float64
	// TimeoutRate is the share of sends that are accepted and then not
	// answered until Hang passes or the client gives up.
	TimeoutRate float64
	// Hang bounds a simulated timeout; default 30s.
	Hang time.Duration
	// ReceiptDelay is how long an accepted message takes to show in
	// QuerySendDetails and the Twilio message list, and to get its receipt.
	ReceiptDelay time.Duration
	// ReplyRate is the share of delivered messages whose recipient replies
	// with an opt-out word.
	ReplyRate float64
	// DailyLimit is how many messages one number may get per day before
	// isv.BUSINESS_LIMIT_CONTROL (Alibaba); 0 means 10.
	DailyLimit int
	// Webhooks receiving receipts and replies; empty ones are not called.
	TwilioInboundURL  string // inbound replies, signed with X-Twilio-Signature
	AlibabaUplinkURL  string // SmsUp replies (JSON array)
	AlibabaReportURL  string // SmsReport receipts (JSON array)
	WebhookHTTPClient *http.Client
	// LedgerPath, when set, is a file (mode 0600) that gets one JSON line
	// per accepted message.
	LedgerPath string
	// Seed makes the faults reproducible; 0 picks a random seed.
	Seed uint64
	Log  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Record is one accepted message, as the ledger stores it.
type Record struct {
	MessageID string    `json:"message_id"`
	To        string    `json:"to"`
	Template  string    `json:"template"`
	SentAt    time.Time `json:"sent_at"`
	API       string    `json:"api"`
	Ref       string    `json:"ref,omitempty"`
	// BizID is the Alibaba call's id, shared by the messages of one
	// SendBatchSms call.
	BizID     string `json:"-"`
	Body      string `json:"-"`
	Sign      string `json:"-"`
	Params    string `json:"-"`
	Validity  int    `json:"-"`
	Delivered bool   `json:"-"`
}

// Stats counts what the simulator saw.
type Stats struct {
	Accepted      int64 `json:"accepted"`
	Throttled     int64 `json:"throttled"`
	ServerErrors  int64 `json:"server_errors"`
	Timeouts      int64 `json:"timeouts"`
	Rejected      int64 `json:"rejected"`
	Lookups       int64 `json:"lookups"`
	AuthFailures  int64 `json:"auth_failures"`
	TLSHandshakes int64 `json:"tls_handshakes"`
	Receipts      int64 `json:"receipts"`
	Replies       int64 `json:"replies"`
	// Batches counts the SendBatchSms calls that were accepted.
	Batches int64 `json:"batches"`
}

// Simulator is a running simulated provider.
type Simulator struct {
	o        Options
	cert     tls.Certificate
	certPEM  []byte
	pool     *x509.CertPool
	ln       net.Listener
	srv      *http.Server
	log      *slog.Logger
	beijing  *time.Location
	ledger   *os.File
	webhooks *http.Client

	mu       sync.Mutex
	rng      *mrand.Rand
	byTo     map[string][]*Record
	all      []*Record
	optedOut map[string]bool
	perDay   map[string]int
	nonces   map[string]time.Time
	seq      int64

	stats struct {
		accepted, throttled, serverErrors, timeouts, rejected, lookups, auth, handshakes, receipts, replies, batches atomic.Int64
	}
	bg sync.WaitGroup
}

// New creates a simulator with a fresh self-signed certificate for
// 127.0.0.1, ::1 and localhost.
func New(o Options) (*Simulator, error) {
	if o.Hang <= 0 {
		o.Hang = 30 * time.Second
	}
	if o.DailyLimit <= 0 {
		o.DailyLimit = 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	seed := o.Seed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	bj, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	s := &Simulator{
		o: o, log: o.Log, beijing: bj,
		rng:      mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		byTo:     map[string][]*Record{},
		optedOut: map[string]bool{},
		perDay:   map[string]int{},
		nonces:   map[string]time.Time{},
		webhooks: o.WebhookHTTPClient,
	}
	if s.webhooks == nil {
		s.webhooks = &http.Client{Timeout: 10 * time.Second}
	}
	if err := s.makeCert(); err != nil {
		return nil, err
	}
	if o.LedgerPath != "" {
		f, err := os.OpenFile(o.LedgerPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("simulator ledger: %w", err)
		}
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("simulator ledger: %w", err)
		}
		s.ledger = f
	}
	return s, nil
}

func (s *Simulator) makeCert() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("simulator certificate: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(math.MaxInt64))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "owl SMS provider simulator"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("simulator certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	s.cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	s.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	s.pool = x509.NewCertPool()
	s.pool.AddCert(leaf)
	return nil
}

// CertPEM is the simulator's certificate, for clients to trust.
func (s *Simulator) CertPEM() []byte { return s.certPEM }

// CertPool is a pool holding only the simulator's certificate.
func (s *Simulator) CertPool() *x509.CertPool { return s.pool }

// Listen opens the simulator's listener on addr (port 0 picks one).
func (s *Simulator) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("simulator: listen on %s: %w", addr, err)
	}
	s.ln = ln
	return nil
}

// URL is the simulator's base URL, https://127.0.0.1:PORT.
func (s *Simulator) URL() string { return "https://" + s.ln.Addr().String() }

// Addr is the simulator's listen address.
func (s *Simulator) Addr() string { return s.ln.Addr().String() }

// Run serves HTTPS on the listener from Listen until ctx ends.
func (s *Simulator) Run(ctx context.Context) error {
	if s.ln == nil {
		return errors.New("simulator: Run before Listen")
	}
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{s.cert},
			MinVersion:   tls.VersionTLS12,
		},
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.stats.handshakes.Add(1)
			}
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.ServeTLS(s.ln, "", "") }()
	s.log.Info("sms simulator listening", "url", s.URL())
	select {
	case err := <-errc:
		return fmt.Errorf("simulator: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		s.srv.Close()
	}
	s.bg.Wait()
	if s.ledger != nil {
		return s.ledger.Close()
	}
	return nil
}

// Stats returns the counters.
func (s *Simulator) Stats() Stats {
	return Stats{
		Accepted: s.stats.accepted.Load(), Throttled: s.stats.throttled.Load(),
		ServerErrors: s.stats.serverErrors.Load(), Timeouts: s.stats.timeouts.Load(),
		Rejected: s.stats.rejected.Load(), Lookups: s.stats.lookups.Load(),
		AuthFailures: s.stats.auth.Load(), TLSHandshakes: s.stats.handshakes.Load(),
		Receipts: s.stats.receipts.Load(), Replies: s.stats.replies.Load(), Batches: s.stats.batches.Load(),
	}
}

// Messages returns the accepted messages to one number, or all when to is
// empty, in order of acceptance.
func (s *Simulator) Messages(to string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.all
	if to != "" {
		src = s.byTo[to]
	}
	out := make([]Record, len(src))
	for i, r := range src {
		out[i] = *r
	}
	return out
}

// fault draws the fate of one send: "", "throttle", "5xx-before",
// "5xx-after" or "timeout".
func (s *Simulator) fault() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.rng.Float64()
	switch {
	case x < s.o.ThrottleRate:
		return "throttle"
	case x < s.o.ThrottleRate+s.o.ServerErrorRate/2:
		return "5xx-before"
	case x < s.o.ThrottleRate+s.o.ServerErrorRate:
		return "5xx-after"
	case x < s.o.ThrottleRate+s.o.ServerErrorRate+s.o.TimeoutRate:
		return "timeout"
	}
	return ""
}

func (s *Simulator) delay(ctx context.Context) {
	if s.o.Latency <= 0 {
		return
	}
	d := s.o.Latency
	if s.o.LatencySigma > 0 {
		s.mu.Lock()
		z := s.rng.NormFloat64()
		s.mu.Unlock()
		d = time.Duration(float64(d) * math.Exp(s.o.LatencySigma*z))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// hang holds a request that timed out on the provider side.
func (s *Simulator) hang(ctx context.Context) {
	t := time.NewTimer(s.o.Hang)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// phoneProblem checks a recipient the way carriers do: "" when it can get
// an SMS, "invalid" for no such number, "landline" for a number that cannot
// receive SMS.
func phoneProblem(e164 string) string {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return "invalid"
	}
	// IsValidNumber is GetNumberType(n) != UNKNOWN: the same metadata and
	// matching, which are most of the simulator's CPU in a batch, so they
	// run once.
	t := phonenumbers.GetNumberType(n)
	if t == phonenumbers.UNKNOWN || phonenumbers.Format(n, phonenumbers.E164) != e164 {
		return "invalid"
	}
	switch t {
	case phonenumbers.FIXED_LINE, phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST:
		return "landline"
	}
	return ""
}

// accept records a message and schedules its receipt.
func (s *Simulator) accept(r *Record) error {
	now := s.o.Now()
	s.mu.Lock()
	s.seq++
	r.SentAt = now.UTC()
	if r.MessageID == "" {
		r.MessageID = fmt.Sprintf("%d^%d", now.UnixMilli(), s.seq)
	}
	s.byTo[r.To] = append(s.byTo[r.To], r)
	s.all = append(s.all, r)
	s.perDay[r.To+"|"+now.In(s.beijing).Format(time.DateOnly)]++
	var err error
	if s.ledger != nil {
		line, _ := json.Marshal(r)
		_, err = s.ledger.Write(append(line, '\n'))
	}
	s.mu.Unlock()
	s.stats.accepted.Add(1)
	if err != nil {
		return fmt.Errorf("simulator ledger: %w", err)
	}
	s.bg.Go(func() { s.deliver(r) })
	return nil
}

// visible reports whether an accepted message shows in the records yet.
func (s *Simulator) visible(r *Record, now time.Time) bool {
	return !now.Before(r.SentAt.Add(s.o.ReceiptDelay))
}

// deliver sends the receipt of r after ReceiptDelay and, sometimes, an
// opt-out reply.
func (s *Simulator) deliver(r *Record) {
	if s.o.ReceiptDelay > 0 {
		time.Sleep(s.o.ReceiptDelay)
	}
	s.mu.Lock()
	r.Delivered = true
	reply := s.o.ReplyRate > 0 && s.rng.Float64() < s.o.ReplyRate
	word := []string{"STOP", "TD", "退订"}[s.rng.IntN(3)]
	s.mu.Unlock()
	s.stats.receipts.Add(1)
	switch r.API {
	case "alibaba":
		if s.o.AlibabaReportURL != "" {
			err := s.postJSON(s.o.AlibabaReportURL, []map[string]any{{
				"phone_number": r.To, "send_time": r.SentAt.In(s.beijing).Format(time.DateTime),
				"report_time": time.Now().In(s.beijing).Format(time.DateTime), "success": true,
				"err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1", "biz_id": r.BizID, "out_id": r.Ref,
			}})
			if err != nil {
				s.log.Warn("sms simulator: report webhook failed", "err", err)
			}
		}
	}
	if reply {
		if err := s.Reply(r.API, r.To, word); err != nil {
			s.log.Warn("sms simulator: reply webhook failed", "err", err)
		}
	}
}

// Reply makes the recipient of an earlier message answer with body through
// api ("alibaba" or "twilio"): an opt-out word unsubscribes the number at
// the provider, and the reply goes to the configured webhook.
func (s *Simulator) Reply(api, to, body string) error {
	s.stats.replies.Add(1)
	if isOptOutWord(body) {
		s.mu.Lock()
		s.optedOut[to] = true
		s.mu.Unlock()
	}
	switch api {
	case "twilio":
		if s.o.TwilioInboundURL == "" {
			return nil
		}
		form := map[string]string{
			"MessageSid": fmt.Sprintf("SM%032x", time.Now().UnixNano()), "AccountSid": TwilioAccountSID,
			"From": to, "To": TwilioFrom, "Body": body, "NumMedia": "0",
		}
		return s.postSignedForm(s.o.TwilioInboundURL, form)
	case "alibaba":
		if s.o.AlibabaUplinkURL == "" {
			return nil
		}
		return s.postJSON(s.o.AlibabaUplinkURL, []map[string]any{{
			"phone_number": to, "send_time": time.Now().In(s.beijing).Format(time.DateTime),
			"content": body, "sign_name": "owl", "dest_code": "1234", "sequence_id": time.Now().UnixNano(),
		}})
	}
	return fmt.Errorf("simulator: unknown api %q", api)
}

func isOptOutWord(body string) bool {
	switch body {
	case "STOP", "stop", "Stop", "TD", "td", "退订", "UNSUBSCRIBE", "unsubscribe":
		return true
	}
	return false
}

func (s *Simulator) postJSON(url string, v any) error {
	b, _ := json.Marshal(v)
	resp, err := s.webhooks.Post(url, "application/json", bytesReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

func (s *Simulator) isOptedOut(to string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.optedOut[to]
}

func (s *Simulator) overDailyLimit(to string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perDay[to+"|"+s.o.Now().In(s.beijing).Format(time.DateOnly)] >= s.o.DailyLimit
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
