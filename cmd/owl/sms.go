package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/config"
	"github.com/owlstack/owl/internal/httpserver"
	"github.com/owlstack/owl/internal/landing"
	"github.com/owlstack/owl/internal/logging"
	"github.com/owlstack/owl/internal/runner"
	"github.com/owlstack/owl/internal/sms"
	"github.com/owlstack/owl/internal/sms/phonecrypt"
	"github.com/owlstack/owl/internal/sms/smssim"
	"github.com/owlstack/owl/internal/sms/smssystem"
	"github.com/owlstack/owl/internal/tracectx"
)

// smsCmdConfig is the configuration of the 'owl sms' commands.
type smsCmdConfig struct {
	Data string           `yaml:"data" help:"folder for embedded state: the SQLite file, keys and simulator ledger under sms/"`
	Log  config.Log       `yaml:"log"`
	SMS  smssystem.Config `yaml:",inline"`
}

func defaultSMSCmdConfig() *smsCmdConfig {
	return &smsCmdConfig{Data: "./owl-data", Log: config.DefaultLog(), SMS: smssystem.DefaultConfig()}
}

// smsCommand builds one 'owl sms' subcommand bound to the SMS configuration.
func smsCommand(e *env, use, short, long string, run func(cmd *cobra.Command, cfg *smsCmdConfig, log *slog.Logger) error) *cobra.Command {
	cfg := defaultSMSCmdConfig()
	cmd := &cobra.Command{Use: use, Short: short, Long: long, Args: noArgs}
	binding := config.Bind(cmd.Flags(), cfg)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := binding.Load(configPath(cmd, e), e.getenv); err != nil {
			return err
		}
		log, err := logging.New(e.stderr, logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format})
		if err != nil {
			return err
		}
		return run(cmd, cfg, log)
	}
	return cmd
}

func newSMSCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sms",
		Short: "Streak SMS batch: keys, users, batches and the provider simulator",
		Long: `The nightly streak SMS batch: phone numbers stored encrypted, one reminder
per user and night at 23:00 in the user's zone, through Alibaba Cloud SMS,
Twilio or the built-in simulator. State lives under --data (SQLite) or in
the PostgreSQL database given by --database.`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRun,
	}
	keys := &cobra.Command{Use: "keys", Short: "Create and rotate the phone number keys", Args: cobra.ArbitraryArgs, RunE: groupRun}
	keys.AddCommand(newSMSKeysInitCmd(e), newSMSKeysRotateCmd(e))
	users := &cobra.Command{Use: "users", Short: "Import users and their phone numbers", Args: cobra.ArbitraryArgs, RunE: groupRun}
	users.AddCommand(newSMSUsersImportCmd(e))
	batch := &cobra.Command{Use: "batch", Short: "Run a night's batch on demand and report on it", Args: cobra.ArbitraryArgs, RunE: groupRun}
	batch.AddCommand(newSMSBatchRunCmd(e), newSMSBatchReportCmd(e))
	cmd.AddCommand(keys, users, batch, newSMSSimulatorCmd(e))
	return cmd
}

func newSMSKeysInitCmd(e *env) *cobra.Command {
	return smsCommand(e, "init", "Create the master key and the encrypted keysets",
		`Create the local master key file (mode 0600, unless --kek names a KMS key)
and the phone number keysets, encrypted under it, when they do not exist.
Existing keys are never replaced.`,
		func(cmd *cobra.Command, cfg *smsCmdConfig, _ *slog.Logger) error {
			created, err := smssystem.InitKeys(cmd.Context(), cfg.SMS, cfg.Data)
			if err != nil {
				return err
			}
			if len(created) == 0 {
				_, err = fmt.Fprintln(e.stdout, "keys exist already; nothing created")
				return err
			}
			for _, p := range created {
				fmt.Fprintf(e.stdout, "created %s\n", p)
			}
			return nil
		})
}

func newSMSKeysRotateCmd(e *env) *cobra.Command {
	var wait time.Duration
	cmd := smsCommand(e, "rotate", "Rotate the phone number key without downtime",
		`Rotate the data key in steps, each safe while workers run: add a new key,
wait --reload-wait for every process to load it, make it primary,
re-encrypt every stored number in batches, and disable the old key.
An interrupted rotation resumes where it stopped when run again.`,
		func(cmd *cobra.Command, cfg *smsCmdConfig, _ *slog.Logger) error {
			ctx := cmd.Context()
			kek, dir, err := smssystem.OpenKEK(ctx, cfg.SMS, cfg.Data)
			if err != nil {
				return err
			}
			db, err := smssystem.OpenDB(ctx, cfg.SMS, cfg.Data)
			if err != nil {
				return err
			}
			defer db.Close()
			id, err := phonecrypt.Rotate(ctx, dir, kek, db, phonecrypt.RotateOptions{
				ReloadWait: wait,
				Progress:   func(f string, a ...any) { fmt.Fprintf(e.stdout, f+"\n", a...) },
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "rotation done: key %d is primary\n", id)
			return err
		})
	cmd.Flags().DurationVar(&wait, "reload-wait", time.Minute, "how long running processes need to load a new key (twice --keyset-reload)")
	return cmd
}

func newSMSUsersImportCmd(e *env) *cobra.Command {
	var csvPath string
	cmd := smsCommand(e, "import --csv FILE", "Import or update users from a CSV file",
		`Import users from a CSV file with the header
  user_id,phone,time_zone,streak_days,last_active_at,opted_out
(phone as written by people, E.164 preferred; time_zone an IANA name, empty
for Asia/Shanghai; last_active_at an RFC 3339 time; opted_out true or
false). Numbers are stored encrypted. A user already stored is updated. The
whole file is imported, or nothing when a row is bad: each problem is
reported with its line and column.`,
		func(cmd *cobra.Command, cfg *smsCmdConfig, _ *slog.Logger) error {
			if csvPath == "" {
				return usagef(cmd, "missing --csv FILE")
			}
			ctx := cmd.Context()
			f, err := os.Open(csvPath)
			if err != nil {
				return err
			}
			defer f.Close()
			if cfg.SMS.KEK == "" && cfg.SMS.Keys == "" {
				if _, err := smssystem.InitKeys(ctx, cfg.SMS, cfg.Data); err != nil {
					return err
				}
			}
			kek, dir, err := smssystem.OpenKEK(ctx, cfg.SMS, cfg.Data)
			if err != nil {
				return err
			}
			c, err := phonecrypt.Load(dir, kek)
			if err != nil {
				return err
			}
			db, err := smssystem.OpenDB(ctx, cfg.SMS, cfg.Data)
			if err != nil {
				return err
			}
			defer db.Close()
			var progress func(int)
			if logging.IsTerminal(e.stderr) {
				progress = func(n int) { fmt.Fprintf(e.stderr, "\rimported %d rows", n) }
			}
			res, err := smssystem.Import(ctx, db, c, f, csvPath, cfg.SMS.Region, time.Now(), progress)
			if progress != nil {
				fmt.Fprint(e.stderr, "\r\033[K")
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "imported %d users from %s\n", res.Rows, csvPath)
			return err
		})
	cmd.Flags().StringVar(&csvPath, "csv", "", "the users CSV file")
	return cmd
}

// dateFlag parses --date, a usage error when malformed.
func dateFlag(cmd *cobra.Command, s string) (sms.Date, error) {
	if s == "" {
		return sms.Date{}, usagef(cmd, "missing --date YYYY-MM-DD")
	}
	d, err := sms.ParseDate(s)
	if err != nil {
		return sms.Date{}, usagef(cmd, "--date: %v", err)
	}
	return d, nil
}

// shiftedClock returns a clock that reads at as it starts and then runs at
// the normal pace.
func shiftedClock(at time.Time) func() time.Time {
	offset := time.Until(at)
	return func() time.Time { return time.Now().Add(offset) }
}

func newSMSBatchRunCmd(e *env) *cobra.Command {
	var date, nowFlag string
	var dryRun, asJSON bool
	var wait time.Duration
	cmd := smsCommand(e, "run --date YYYY-MM-DD [--dry-run]", "Run the batch of a local date now and print its report",
		`Select every user whose streak is at risk on the local date (an active
streak, no practice that day in the user's zone, not opted out), enqueue one
reminder each, work them to completion and print the report. Reminders
already sent that night are not sent again; a rerun finishes an interrupted
batch. Without a configured provider the simulator runs in this process.
--dry-run only counts whom the batch would remind.`,
		func(cmd *cobra.Command, cfg *smsCmdConfig, log *slog.Logger) error {
			d, err := dateFlag(cmd, date)
			if err != nil {
				return err
			}
			now := time.Now
			if nowFlag != "" {
				t, err := time.Parse(time.RFC3339, nowFlag)
				if err != nil {
					return usagef(cmd, "--now: expected an RFC 3339 time, got %q", nowFlag)
				}
				now = shiftedClock(t)
			}
			ctx := cmd.Context()
			if !dryRun {
				smssystem.TuneGC(cfg.SMS.GCPercent)
			}
			sys, err := smssystem.Open(ctx, cfg.SMS, smssystem.Options{Data: cfg.Data, Log: log, Now: now, NoWorkers: dryRun})
			if err != nil {
				return err
			}
			defer sys.Close()
			sel, err := sys.Queue.EnqueueDate(ctx, d, dryRun)
			if err != nil {
				return err
			}
			if dryRun {
				r := sms.NewReport(d)
				r.Eligible, r.Skipped = sel.Eligible, sel.Skipped
				return writeReport(e.stdout, r, asJSON)
			}
			r, err := workBatch(ctx, e, sys, d, wait)
			if err != nil {
				return err
			}
			return writeReport(e.stdout, r, asJSON)
		})
	cmd.Flags().StringVar(&date, "date", "", "the users' local date of the batch, YYYY-MM-DD")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count whom the batch would remind; send nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&nowFlag, "now", "", "pretend the clock reads this RFC 3339 time at start (rehearse a night)")
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Minute, "longest time to wait for the batch to finish")
	return cmd
}

// workBatch runs the workers until every reminder of d is final.
func workBatch(ctx context.Context, e *env, sys *smssystem.System, d sms.Date, wait time.Duration) (*sms.Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx, slog.New(slog.DiscardHandler), stopTimeout, sys.Components(false)...) }()
	term := logging.IsTerminal(e.stderr)
	limit := time.NewTimer(wait)
	defer limit.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var r *sms.Report
	for {
		var err error
		r, err = sys.Report(ctx, d)
		if err != nil {
			return nil, err
		}
		if term {
			fmt.Fprintf(e.stderr, "\r%d of %d reminders final", r.Eligible-r.InFlight, r.Eligible)
		}
		if r.Done() {
			break
		}
		select {
		case err := <-done:
			if err == nil {
				err = ctx.Err()
			}
			return nil, fmt.Errorf("batch stopped before it finished: %w", err)
		case <-limit.C:
			return nil, fmt.Errorf("batch not finished after --wait %s: %d reminders in flight", wait, r.InFlight)
		case <-tick.C:
		}
	}
	if term {
		fmt.Fprint(e.stderr, "\r\033[K")
	}
	cancel()
	if err := <-done; err != nil {
		return nil, err
	}
	return r, nil
}

func writeReport(w io.Writer, r *sms.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return r.WriteText(w)
}

func newSMSBatchReportCmd(e *env) *cobra.Command {
	var date string
	var asJSON bool
	cmd := smsCommand(e, "report --date YYYY-MM-DD [--json]", "Print the report of a night's batch",
		`Print the batch of a local date: how many users were eligible, sent,
failed by reason, skipped by reason, still in flight, and the worker CPU
time per message.`,
		func(cmd *cobra.Command, cfg *smsCmdConfig, _ *slog.Logger) error {
			d, err := dateFlag(cmd, date)
			if err != nil {
				return err
			}
			db, err := smssystem.OpenDB(cmd.Context(), cfg.SMS, cfg.Data)
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := db.Q().Report(cmd.Context(), d)
			if err != nil {
				return err
			}
			return writeReport(e.stdout, r, asJSON)
		})
	cmd.Flags().StringVar(&date, "date", "", "the users' local date of the batch, YYYY-MM-DD")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func newSMSSimulatorCmd(e *env) *cobra.Command {
	var addr, ledger, certOut, inbound, uplink string
	cmd := smsCommand(e, "simulator --addr ADDR [--ledger FILE]", "Run the SMS provider simulator (Alibaba Cloud SMS and Twilio APIs over HTTPS)",
		`Serve a simulated SMS provider over HTTPS with a self-signed certificate,
speaking the Alibaba Cloud SMS API (SendSms, SendBatchSms, QuerySendDetails;
signatures verified) and the Twilio Messages API, with the fault knobs
--sim-latency, --sim-throttle-rate, --sim-error-rate, --sim-timeout-rate and
--sim-reply-rate. The certificate is written to --cert for clients to trust
(--provider-ca). --ledger gets one JSON line per accepted message.`,
		func(cmd *cobra.Command, cfg *smsCmdConfig, log *slog.Logger) error {
			if ledger == "" {
				ledger = cfg.SMS.SimLedger
			}
			if certOut == "" {
				certOut = filepath.Join(cfg.Data, "sms", "simulator-cert.pem")
			}
			// It answers a batch: the same trade of memory for CPU.
			smssystem.TuneGC(cfg.SMS.GCPercent)
			sim, err := smssim.New(smssim.Options{
				Latency: cfg.SMS.SimLatency, LatencySigma: 0.5, ThrottleRate: cfg.SMS.SimThrottleRate,
				ServerErrorRate: cfg.SMS.SimErrorRate, TimeoutRate: cfg.SMS.SimTimeoutRate, ReplyRate: cfg.SMS.SimReplyRate,
				ReceiptDelay: cfg.SMS.LookupDelay / 2, LedgerPath: ledger, TwilioInboundURL: inbound, AlibabaUplinkURL: uplink, Log: log,
			})
			if err != nil {
				return err
			}
			if err := sim.Listen(addr); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(certOut), 0o700); err != nil {
				return err
			}
			if err := phonecrypt.WriteFileAtomic(certOut, sim.CertPEM(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "sms simulator listening on %s (certificate: %s)\n", sim.URL(), certOut)
			return sim.Run(cmd.Context())
		})
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8443", "listen address")
	cmd.Flags().StringVar(&ledger, "ledger", "", "JSON-lines ledger of accepted messages (mode 0600)")
	cmd.Flags().StringVar(&certOut, "cert", "", "where to write the certificate (default sms/simulator-cert.pem under --data)")
	cmd.Flags().StringVar(&inbound, "twilio-inbound-url", "", "owl's Twilio inbound webhook, to send replies to")
	cmd.Flags().StringVar(&uplink, "alibaba-uplink-url", "", "owl's Alibaba Cloud reply push URL (with ?token=)")
	return cmd
}

// smsWorkerConfig configures target sms-worker.
type smsWorkerConfig struct {
	Addr      string           `yaml:"addr" help:"listen address of the web server: report page, webhooks, health and metrics"`
	AdminAddr string           `yaml:"admin_addr" help:"listen address of the admin server (pprof, metrics, health); empty turns it off"`
	Data      string           `yaml:"data" help:"folder for embedded state: the SQLite file, keys and simulator ledger under sms/"`
	Log       config.Log       `yaml:"log"`
	HTTP      config.HTTP      `yaml:"http"`
	SMS       smssystem.Config `yaml:"sms"`
	Trace     tracectx.Config  `yaml:"trace"`
}

func defaultSMSWorkerConfig() *smsWorkerConfig {
	all := defaultAllConfig()
	return &smsWorkerConfig{
		Addr: "127.0.0.1:8090", AdminAddr: "127.0.0.1:6090", Data: all.Data, Log: all.Log, HTTP: all.HTTP,
		SMS: smssystem.DefaultConfig(), Trace: tracectx.DefaultConfig("sms-worker"),
	}
}

func (c *smsWorkerConfig) logConfig() config.Log { return c.Log }

// smsWorkerTarget is target sms-worker.
func smsWorkerTarget() target {
	return target{
		name:        "sms-worker",
		description: "streak SMS workers and the nightly schedule (River on PostgreSQL or SQLite), report page and provider webhooks",
		newConfig:   func() any { return defaultSMSWorkerConfig() },
		start: func(ctx context.Context, p *process, cfg any) error {
			return startSMSWorker(ctx, p, cfg.(*smsWorkerConfig))
		},
	}
}

func startSMSWorker(ctx context.Context, p *process, cfg *smsWorkerConfig) error {
	// First, so that every logger made below carries trace roots. Only the
	// server is traced: provider calls carry phone numbers in their
	// requests, and stay out of the access log.
	tracer, err := startTracer(ctx, p, cfg.Trace, cfg.Data)
	if err != nil {
		return fmt.Errorf("sms-worker: %w", err)
	}
	smssystem.TuneGC(cfg.SMS.GCPercent)
	sys, err := smssystem.Open(ctx, cfg.SMS, smssystem.Options{Data: cfg.Data, Log: p.log, Registry: p.reg})
	if err != nil {
		return err
	}
	opts := httpOptions(cfg.HTTP)
	opts.Trace = tracer
	ln, err := httpserver.Listen(cfg.Addr)
	if err != nil {
		sys.Close()
		return err
	}
	web := httpserver.New("web", ln, p.mux, opts, p.reg, p.health, p.log)
	httpserver.HandleOps(p.mux, p.health, p.reg)
	sys.Routes(p.mux)
	sys.Webhooks(p.mux)
	p.health.Add("sms-database", sys.Ready)
	p.add(runner.Component{Name: "web", Run: web.Run}, landing.Entry{Description: "report page, webhooks, health and metrics", Link: "/sms/"})
	if cfg.AdminAddr != "" {
		aln, err := httpserver.Listen(cfg.AdminAddr)
		if err != nil {
			ln.Close()
			sys.Close()
			return fmt.Errorf("admin server: %w", err)
		}
		admin := httpserver.New("admin", aln, httpserver.AdminHandler(p.health, p.reg), opts, p.reg, nil, p.log)
		p.add(runner.Component{Name: "admin", Run: admin.Run}, landing.Entry{Description: "pprof and operational endpoints"})
	}
	for _, c := range sys.Components(true) {
		p.add(c, landing.Entry{Description: "SMS batch"})
	}
	fmt.Fprintf(p.stdout, "owl sms-worker: report page %s/sms/\n", web.URL())
	return nil
}

// demoUsers is how many users 'owl up' creates for its demo batch.
const demoUsers = 40

// startSMSDemo registers the SMS system in 'owl up': the simulator in
// process, demo users, and a clock shifted so that the Asia/Shanghai night
// begins a few seconds after start; the schedule then runs the batch and the
// report page at /sms/ shows it.
func startSMSDemo(ctx context.Context, p *process, data string) error {
	bj, err := time.LoadLocation(sms.DefaultTimeZone)
	if err != nil {
		return err
	}
	today := sms.DateOf(time.Now(), bj)
	now := shiftedClock(sms.ReminderTime(today, bj).Add(-5 * time.Second))
	cfg := smssystem.DefaultConfig()
	cfg.Workers, cfg.JobTimeout, cfg.StuckAfter, cfg.LookupDelay, cfg.Poll = 8, 3*time.Second, 10*time.Second, time.Second, 200*time.Millisecond
	cfg.SimThrottleRate, cfg.SimErrorRate, cfg.SimLatency = 0.05, 0.05, 20*time.Millisecond
	sys, err := smssystem.Open(ctx, cfg, smssystem.Options{Data: data, Log: p.log.With("system", "sms"), Registry: p.reg, Now: now})
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	n, err := sys.DB.Q().CountUsers(ctx)
	if err != nil {
		sys.Close()
		return fmt.Errorf("sms: %w", err)
	}
	if n == 0 {
		if err := importDemoUsers(ctx, sys, sms.DateOf(now(), bj)); err != nil {
			sys.Close()
			return fmt.Errorf("sms demo users: %w", err)
		}
	}
	sys.Routes(p.mux)
	p.health.Add("sms", sys.Ready)
	for _, c := range sys.Components(true) {
		e := landing.Entry{Description: "streak SMS batch: " + c.Name}
		if c.Name == "sms-queue" {
			e = landing.Entry{Description: "streak SMS batch (demo night at 23:00 Asia/Shanghai, a few seconds after start) with its provider simulator", Link: "/sms/"}
		}
		p.add(c, e)
	}
	return nil
}

func importDemoUsers(ctx context.Context, sys *smssystem.System, d sms.Date) error {
	bj, _ := time.LoadLocation(sms.DefaultTimeZone)
	var b strings.Builder
	b.WriteString(strings.Join(sms.CSVColumns, ",") + "\n")
	for i := range demoUsers {
		last := d.AddDays(-1).Start(bj).Add(20 * time.Hour)
		streak, opted := 3+i%40, false
		switch i % 10 {
		case 7:
			last = d.Start(bj).Add(9 * time.Hour) // practised today
		case 8:
			opted = true
		case 9:
			streak = 0
		}
		fmt.Fprintf(&b, "demo%03d,+86139%08d,%s,%d,%s,%t\n", i, i, sms.DefaultTimeZone, streak, last.Format(time.RFC3339), opted)
	}
	_, err := smssystem.Import(ctx, sys.DB, sys.Keys.Cipher(), strings.NewReader(b.String()), "demo users", "", time.Now(), nil)
	return err
}
