// Package smssystem assembles the streak SMS batch from its configuration:
// the database, the phone number keys, the provider (the built-in simulator
// unless one is configured), the sender and the River queue, and the web
// pages and webhooks. Commands and targets build a System and run its
// components.
package smssystem

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/owlstack/owl/internal/runner"
	"github.com/owlstack/owl/internal/sms"
	"github.com/owlstack/owl/internal/sms/phonecrypt"
	"github.com/owlstack/owl/internal/sms/smsalibaba"
	"github.com/owlstack/owl/internal/sms/smsqueue"
	"github.com/owlstack/owl/internal/sms/smssim"
	"github.com/owlstack/owl/internal/sms/smsstore"
	"github.com/owlstack/owl/internal/sms/smstwilio"
)

// Config configures the SMS batch. Its yaml and help tags make it a
// configuration section (internal/config).
type Config struct {
	Database     string        `yaml:"database" help:"PostgreSQL URL (postgres://...); empty: the SQLite file sms/sms.db under --data"`
	KEK          string        `yaml:"kek" help:"key-encryption key: a master key file path (default sms/master.key under --data) or aws-kms://arn:aws:kms:..."`
	Keys         string        `yaml:"keys" help:"folder of the encrypted phone number keysets (default sms/keys under --data)"`
	KeysetReload time.Duration `yaml:"keyset_reload" help:"how often running processes look for a changed keyset (key rotation)"`
	Region       string        `yaml:"region" help:"region of phone numbers written without country code (ISO 3166, e.g. CN)"`

	Provider    string `yaml:"provider" help:"SMS provider: simulator (built in, in process), alibaba or twilio"`
	ProviderURL string `yaml:"provider_url" help:"base URL of the provider API instead of its public one, e.g. a running 'owl sms simulator' (https://127.0.0.1:8443)"`
	ProviderCA  string `yaml:"provider_ca" help:"PEM file of certificate authorities to trust for the provider (the simulator's certificate)"`

	AlibabaAccessKeyID     string `yaml:"alibaba_access_key_id" help:"Alibaba Cloud access key id"`
	AlibabaAccessKeySecret string `yaml:"alibaba_access_key_secret" secret:"true" help:"Alibaba Cloud access key secret"`
	AlibabaSignName        string `yaml:"alibaba_sign_name" help:"Alibaba Cloud SMS signature name"`
	AlibabaTemplate        string `yaml:"alibaba_template" help:"Alibaba Cloud SMS template code of the reminder (parameter: days)"`
	AlibabaPushToken       string `yaml:"alibaba_push_token" secret:"true" help:"token Alibaba Cloud's reply and receipt push must carry (?token=)"`

	TwilioAccountSID       string `yaml:"twilio_account_sid" help:"Twilio account SID"`
	TwilioAuthToken        string `yaml:"twilio_auth_token" secret:"true" help:"Twilio auth token"`
	TwilioFrom             string `yaml:"twilio_from" help:"Twilio sender number (E.164)"`
	TwilioMessagingService string `yaml:"twilio_messaging_service" help:"Twilio messaging service SID, instead of a sender number"`
	TwilioWebhookURL       string `yaml:"twilio_webhook_url" help:"public URL of owl's Twilio inbound webhook, as configured at Twilio (signatures cover it)"`

	Rate          float64       `yaml:"rate" help:"most provider sends per second (0: no limit)"`
	Workers       int           `yaml:"workers" help:"reminders worked at once (River MaxWorkers)"`
	JobTimeout    time.Duration `yaml:"job_timeout" help:"longest run of one reminder job"`
	StuckAfter    time.Duration `yaml:"stuck_after" help:"how long a reminder may sit with a dead worker before owl gives it a new job"`
	LookupDelay   time.Duration `yaml:"lookup_delay" help:"how long after an unclear send the provider's records are searched for it"`
	Poll          time.Duration `yaml:"poll" help:"how often River looks for new jobs"`
	FetchCooldown time.Duration `yaml:"fetch_cooldown" help:"shortest time between two River fetches of reminder jobs (River FetchCooldown); with workers, it bounds jobs per second"`
	BatchSize     int           `yaml:"batch_size" help:"most reminders one provider call carries (Alibaba SendBatchSms, up to 100); 1 sends one by one (Twilio always does)"`
	BatchLinger   time.Duration `yaml:"batch_linger" help:"longest a reminder waits for its provider call to fill up"`
	Sweep         time.Duration `yaml:"sweep" help:"longest wait between two looks at the nightly schedule"`
	GCPercent     int           `yaml:"gc_percent" help:"Go collector target (GOGC) of a process that works the batch, for the whole process: higher spends memory to save CPU; 0 leaves the runtime's; the GOGC variable wins"`

	SimLatency      time.Duration `yaml:"sim_latency" help:"built-in simulator: median answer time"`
	SimThrottleRate float64       `yaml:"sim_throttle_rate" help:"built-in simulator: share of sends refused as throttled"`
	SimErrorRate    float64       `yaml:"sim_error_rate" help:"built-in simulator: share of sends answered with a 5xx (half of them after accepting)"`
	SimTimeoutRate  float64       `yaml:"sim_timeout_rate" help:"built-in simulator: share of sends accepted and then not answered"`
	SimReplyRate    float64       `yaml:"sim_reply_rate" help:"built-in simulator: share of recipients who reply STOP, TD or 退订"`
	SimLedger       string        `yaml:"sim_ledger" help:"built-in simulator: JSON-lines ledger of accepted messages (default sms/simulator-ledger.jsonl under --data)"`
}

// DefaultGCPercent is the collector target of a batch worker. The worker's
// live heap is a few tens of megabytes while a batch allocates gigabytes,
// mostly in River, pgx and the provider SDK: at Go's default of 100 the
// collector takes about a fifth of the worker's CPU, at 400 about a
// twentieth, for a heap a few times larger.
const DefaultGCPercent = 400

// TuneGC sets the collector target of this process to percent, unless the
// GOGC environment variable sets it, percent is 0 or below, or the target
// is higher already. Commands that work the batch call it; so does the
// batch benchmark, to measure the worker as it runs.
func TuneGC(percent int) {
	if percent <= 0 || os.Getenv("GOGC") != "" {
		return
	}
	if old := debug.SetGCPercent(percent); old > percent || old < 0 {
		debug.SetGCPercent(old)
	}
}

// DefaultConfig is the embedded default: SQLite, a local master key, the
// built-in simulator.
func DefaultConfig() Config {
	return Config{
		KeysetReload:  30 * time.Second,
		Region:        sms.DefaultRegion,
		Provider:      "simulator",
		Workers:       200,
		JobTimeout:    30 * time.Second,
		StuckAfter:    2 * time.Minute,
		LookupDelay:   5 * time.Second,
		Poll:          time.Second,
		FetchCooldown: 5 * time.Millisecond,
		BatchSize:     100,
		BatchLinger:   5 * time.Millisecond,
		GCPercent:     DefaultGCPercent,
		Sweep:         15 * time.Minute,
		SimLatency:    5 * time.Millisecond,
	}
}

// Options are what a System gets from the process rather than from its
// configuration.
type Options struct {
	// Data is the folder for embedded state (--data).
	Data string
	Log  *slog.Logger
	// Registry receives the SMS metrics; nil registers none.
	Registry prometheus.Registerer
	// Now is owl's clock; nil means time.Now. A shifted clock rehearses
	// another night (--now); the in-process simulator shares it.
	Now func() time.Time
	// Hook is passed to the Sender (crash tests).
	Hook func(point string)
	// NoWorkers builds a System that enqueues and reports but sends nothing.
	NoWorkers bool
}

// System is the assembled SMS batch.
type System struct {
	Config  Config
	DB      *smsstore.DB
	Keys    *phonecrypt.Keyring
	Sim     *smssim.Simulator // the in-process simulator, or nil
	Sender  *sms.Sender
	Queue   *smsqueue.Queue
	Replies *sms.Replies
	Metrics *sms.Metrics

	opts Options
	log  *slog.Logger
	now  func() time.Time
}

// KeyPaths returns the KEK and keys folder the configuration names, with
// the embedded defaults under data.
func KeyPaths(cfg Config, data string) (kek, keys string) {
	kek, keys = cfg.KEK, cfg.Keys
	if kek == "" {
		kek = filepath.Join(data, "sms", "master.key")
	}
	if keys == "" {
		keys = filepath.Join(data, "sms", "keys")
	}
	return kek, keys
}

// InitKeys creates the local master key (unless the KEK is a KMS key or the
// file exists) and the keysets, when absent. It reports what it created.
func InitKeys(ctx context.Context, cfg Config, data string) (created []string, err error) {
	kekURI, keys := KeyPaths(cfg, data)
	local := !hasScheme(kekURI) || len(kekURI) > 7 && kekURI[:7] == "file://"
	if local {
		path := kekURI
		if len(path) > 7 && path[:7] == "file://" {
			path = path[7:]
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, fmt.Errorf("master key folder: %w", err)
			}
			if err := phonecrypt.CreateMasterKey(path); err != nil {
				return nil, err
			}
			created = append(created, path)
		}
	}
	kek, err := phonecrypt.OpenKEK(ctx, kekURI)
	if err != nil {
		return created, err
	}
	made, err := phonecrypt.Init(keys, kek)
	if err != nil {
		return created, err
	}
	if made {
		created = append(created, filepath.Join(keys, phonecrypt.AEADFile), filepath.Join(keys, phonecrypt.IndexFile))
	}
	return created, nil
}

func hasScheme(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i:i+3] == "://" {
			return true
		}
	}
	return false
}

// OpenKEK opens the configured key-encryption key.
func OpenKEK(ctx context.Context, cfg Config, data string) (phonecrypt.KEK, string, error) {
	kekURI, keys := KeyPaths(cfg, data)
	kek, err := phonecrypt.OpenKEK(ctx, kekURI)
	return kek, keys, err
}

// OpenDB opens and migrates the configured database.
func OpenDB(ctx context.Context, cfg Config, data string) (*smsstore.DB, error) {
	db, err := smsstore.Open(ctx, cfg.Database, data)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Open assembles the System: it migrates the database, creates the keys on
// first use of the embedded default, loads them once, and builds the
// provider and the queue. Close releases what Open opened.
func Open(ctx context.Context, cfg Config, o Options) (*System, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &System{Config: cfg, opts: o, log: o.Log, now: o.Now}
	if o.Registry != nil {
		s.Metrics = sms.NewMetrics(o.Registry)
	}
	if cfg.KEK == "" && cfg.Keys == "" {
		if _, err := InitKeys(ctx, cfg, o.Data); err != nil {
			return nil, err
		}
	}
	kek, keysDir, err := OpenKEK(ctx, cfg, o.Data)
	if err != nil {
		return nil, err
	}
	if s.Keys, err = phonecrypt.OpenKeyring(keysDir, kek, o.Log); err != nil {
		return nil, err
	}
	if s.DB, err = OpenDB(ctx, cfg, o.Data); err != nil {
		return nil, err
	}
	s.Replies = &sms.Replies{Store: s.DB.Q(), Index: s.Keys, Region: cfg.Region, Now: o.Now, Metrics: s.Metrics}
	var sender *sms.Sender
	if !o.NoWorkers {
		provider, err := s.provider(cfg, o)
		if err != nil {
			s.Close()
			return nil, err
		}
		var lim sms.Limiter
		if cfg.Rate > 0 {
			lim = rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate/10)))
		}
		sender = &sms.Sender{
			Store: smsstore.NewGroupStore(s.DB, cfg.Workers, cfg.JobTimeout), Phones: s.Keys, Provider: provider, Limiter: lim, Log: o.Log, Metrics: s.Metrics,
			Now: o.Now, Lease: cfg.JobTimeout + max(cfg.JobTimeout/4, time.Second), LookupDelay: cfg.LookupDelay,
			MaxInlineWait: cfg.JobTimeout / 2, RunTimeout: cfg.JobTimeout,
			Hook: o.Hook, CPU: sms.NewCPUMeter(), BatchSize: cfg.BatchSize, BatchLinger: cfg.BatchLinger,
		}
		s.Sender = sender
	}
	s.Queue, err = smsqueue.New(s.DB, sender, smsqueue.Config{
		Workers: cfg.Workers, JobTimeout: cfg.JobTimeout, StuckAfter: cfg.StuckAfter, PollInterval: cfg.Poll, FetchCooldown: cfg.FetchCooldown,
		Sweep: cfg.Sweep, Now: o.Now, Log: o.Log, Metrics: s.Metrics,
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *System) provider(cfg Config, o Options) (sms.Provider, error) {
	var roots *x509.CertPool
	if cfg.ProviderCA != "" {
		pem, err := os.ReadFile(cfg.ProviderCA)
		if err != nil {
			return nil, fmt.Errorf("provider CA: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("provider CA %s: no PEM certificate in it", cfg.ProviderCA)
		}
	}
	baseURL := cfg.ProviderURL
	kind := cfg.Provider
	if kind == "" || kind == "simulator" {
		// The built-in simulator, in this process, over real HTTPS, spoken
		// to with the Alibaba Cloud SDK.
		ledger := cfg.SimLedger
		if ledger == "" {
			ledger = filepath.Join(o.Data, "sms", "simulator-ledger.jsonl")
		}
		if err := os.MkdirAll(filepath.Dir(ledger), 0o700); err != nil {
			return nil, fmt.Errorf("simulator ledger folder: %w", err)
		}
		sim, err := smssim.New(smssim.Options{
			Latency: cfg.SimLatency, LatencySigma: 0.5, ThrottleRate: cfg.SimThrottleRate, ServerErrorRate: cfg.SimErrorRate,
			TimeoutRate: cfg.SimTimeoutRate, Hang: cfg.JobTimeout / 2, ReplyRate: cfg.SimReplyRate,
			ReceiptDelay: cfg.LookupDelay / 2, LedgerPath: ledger, Log: o.Log.With("component", "sms-simulator"), Now: o.Now,
		})
		if err != nil {
			return nil, err
		}
		if err := sim.Listen("127.0.0.1:0"); err != nil {
			return nil, err
		}
		s.Sim = sim
		roots, baseURL, kind = sim.CertPool(), sim.URL(), "alibaba"
		cfg.AlibabaAccessKeyID, cfg.AlibabaAccessKeySecret = smssim.AlibabaAccessKeyID, smssim.AlibabaAccessKeySecret
		cfg.AlibabaSignName, cfg.AlibabaTemplate = "owl", "SMS_OWL_STREAK"
	}
	transport := sms.NewTransport(roots, cfg.Workers)
	switch kind {
	case "alibaba":
		endpoint := ""
		if baseURL != "" {
			u, err := parseHTTPS(baseURL)
			if err != nil {
				return nil, err
			}
			endpoint = u
		}
		return smsalibaba.New(smsalibaba.Config{
			Endpoint: endpoint, AccessKeyID: cfg.AlibabaAccessKeyID, AccessKeySecret: cfg.AlibabaAccessKeySecret,
			SignName: cfg.AlibabaSignName, TemplateCode: cfg.AlibabaTemplate, Timeout: cfg.JobTimeout / 2, Concurrency: cfg.Workers,
		}, transport)
	case "twilio":
		return smstwilio.New(smstwilio.Config{
			AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, From: cfg.TwilioFrom,
			MessagingServiceSID: cfg.TwilioMessagingService, BaseURL: baseURL, Timeout: cfg.JobTimeout / 2, Concurrency: cfg.Workers,
		}, transport)
	}
	return nil, fmt.Errorf("sms provider %q: expected simulator, alibaba or twilio", kind)
}

// parseHTTPS returns the host[:port] of an https URL.
func parseHTTPS(raw string) (string, error) {
	const p = "https://"
	if len(raw) <= len(p) || raw[:len(p)] != p {
		return "", fmt.Errorf("provider URL %q: expected https://HOST[:PORT]", raw)
	}
	host := raw[len(p):]
	for i := range len(host) {
		if host[i] == '/' {
			host = host[:i]
			break
		}
	}
	return host, nil
}

// Close releases the database.
func (s *System) Close() {
	if s.DB != nil {
		s.DB.Close()
	}
}

// Components are the long-running parts: the simulator (when in process),
// the keyset reloader, River's workers, the nightly schedule and owl's
// rescue of reminders whose worker died.
func (s *System) Components(schedule bool) []runner.Component {
	var cs []runner.Component
	if s.Sim != nil {
		cs = append(cs, runner.Component{Name: "sms-simulator", Run: s.Sim.Run})
	}
	cs = append(cs,
		runner.Component{Name: "sms-keys", Run: func(ctx context.Context) error { return s.Keys.Run(ctx, s.Config.KeysetReload) }},
		runner.Component{Name: "sms-queue", Run: s.Queue.Run},
		runner.Component{Name: "sms-rescue", Run: s.Queue.RunRescue},
	)
	if schedule {
		cs = append(cs, runner.Component{Name: "sms-schedule", Run: s.Queue.RunSchedule})
	}
	return cs
}

// Report returns the report of the batch of d.
func (s *System) Report(ctx context.Context, d sms.Date) (*sms.Report, error) {
	return s.DB.Q().Report(ctx, d)
}

// Ready checks the database.
func (s *System) Ready(ctx context.Context) error { return s.DB.Ping(ctx) }

// Webhooks registers the providers' reply and receipt webhooks on mux.
func (s *System) Webhooks(mux *http.ServeMux) {
	reply := func(ctx context.Context, from, body string) error {
		_, err := s.Replies.Handle(ctx, from, body)
		return err
	}
	receipt := func(status string) { s.Metrics.Receipt(status) }
	token := s.Config.AlibabaPushToken
	if token != "" {
		mux.Handle("POST /sms/alibaba/{kind}", smsalibaba.PushHandler(token, reply, receipt, s.log))
	}
	if s.Config.TwilioAuthToken != "" && s.Config.TwilioWebhookURL != "" {
		mux.Handle("POST /sms/twilio/inbound", smstwilio.InboundHandler(s.Config.TwilioAuthToken, s.Config.TwilioWebhookURL, reply, receipt, s.log))
	}
}
