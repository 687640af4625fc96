package smssystem

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/owlstack/owl/internal/pgtest"
	"github.com/owlstack/owl/internal/runner"
	"github.com/owlstack/owl/internal/sms"
	"github.com/owlstack/owl/internal/sms/smssim"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoPlaintextNumberAnywhere runs a full batch with every error path a
// number could leak through (provider errors that quote it, timeouts, a
// tampered ciphertext, an opt-out reply) and scans every output: logs at
// debug level (River's included), metrics, the report page and API, the
// provider webhook's answers and the database files. Only the simulator's
// own ledger may hold numbers.
func TestNoPlaintextNumberAnywhere(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testNoPlaintext(t, "") })
	t.Run("postgres", func(t *testing.T) { testNoPlaintext(t, pgtest.NewDatabase(t)) })
}

// dumpPostgres returns every row of every table of the database as text
// (River's jobs and their arguments included), bytea columns as hex.
func dumpPostgres(t *testing.T, databaseURL string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := conn.Query(ctx, "SELECT CAST(t AS text) FROM "+pgx.Identifier{table}.Sanitize()+" t")
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %d rows\n%s\n", table, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

func testNoPlaintext(t *testing.T, database string) {
	dir := t.TempDir()
	n := newNight()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	sim, err := smssim.New(smssim.Options{
		ThrottleRate: 0.1, ServerErrorRate: 0.1, TimeoutRate: 0.05, Hang: time.Second, ReceiptDelay: 100 * time.Millisecond,
		Now: n.now, Seed: 3, Log: log, LedgerPath: filepath.Join(dir, "ledger.jsonl"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(ctx) }()
	ca := filepath.Join(dir, "sim.pem")
	if err := os.WriteFile(ca, sim.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig()
	cfg.Database = database
	cfg.Provider, cfg.ProviderURL, cfg.ProviderCA = "twilio", sim.URL(), ca
	cfg.TwilioAccountSID, cfg.TwilioAuthToken, cfg.TwilioFrom = smssim.TwilioAccountSID, smssim.TwilioAuthToken, smssim.TwilioFrom
	reg := prometheus.NewRegistry()
	sys, err := Open(ctx, cfg, Options{Data: dir, Now: n.now, Log: log, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	csvPath, _ := population(t, dir, 30, n.date)
	csvData, _ := os.ReadFile(csvPath)
	// Landlines: valid numbers that cannot get an SMS; Twilio's error
	// message quotes them.
	bj, _ := time.LoadLocation("Asia/Shanghai")
	last := n.date.AddDays(-1).Start(bj).Add(9 * time.Hour).Format(time.RFC3339)
	landlines := []string{"+861012345678", "+862161234567"}
	extra := "land0,+861012345678,Asia/Shanghai,4," + last + ",false\nland1,+862161234567,Asia/Shanghai,4," + last + ",false\n"
	if _, err := Import(ctx, sys.DB, sys.Keys.Cipher(), strings.NewReader(string(csvData)+extra), "users.csv", "", n.now(), nil); err != nil {
		t.Fatal(err)
	}
	// A tampered ciphertext: that reminder must fail alone.
	u, _ := sys.DB.Q().User(ctx, "u000000")
	u.PhoneCiphertext[len(u.PhoneCiphertext)-1] ^= 0xff
	if err := sys.DB.Q().UpsertUser(ctx, u, 0, n.now()); err != nil {
		t.Fatal(err)
	}

	// The inbound webhook, as Twilio calls it.
	mux := http.NewServeMux()
	sys.Routes(mux)
	web := httptest.NewServer(mux)
	defer web.Close()
	sys.Config.TwilioWebhookURL = web.URL + "/sms/twilio/inbound"
	sys.Webhooks(mux)
	outputs := &syncBuffer{}
	reply := func(from, body string) {
		form := map[string]string{"From": from, "Body": body, "To": smssim.TwilioFrom, "MessageSid": "SM1"}
		v := url.Values{}
		for k, x := range form {
			v.Set(k, x)
		}
		req, _ := http.NewRequest("POST", sys.Config.TwilioWebhookURL, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", smssim.TwilioSignature(smssim.TwilioAuthToken, sys.Config.TwilioWebhookURL, form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if _, err := outputs.Write(b); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Errorf("inbound webhook: %s %s", resp.Status, b)
		}
	}
	reply(phone(1), "退订") // u000001 opts out before the batch
	reply("not a number", "STOP")

	if _, err := sys.Queue.EnqueueDate(ctx, n.date, false); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx, log, 10*time.Second, sys.Components(false)...) }()
	r := waitDone(t, ctx, sys, n.date, 60*time.Second)
	if r.Failed["decrypt"] != 1 || r.Failed["invalid_number"] != 2 {
		t.Errorf("report %+v: want one decrypt failure and two invalid numbers", r)
	}
	if r.Skipped[sms.SkipOptedOut] != 3 { // two in the file, one by reply
		t.Errorf("opt-out by reply not honoured: %+v", r)
	}
	for _, path := range []string{"/sms/", "/api/v1/sms/reports/" + n.date.String()} {
		resp, err := http.Get(web.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if _, err := outputs.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(outputs, mf); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
	if err := <-simDone; err != nil {
		t.Error(err)
	}
	sys.Close()

	scan := map[string]string{"logs": logs.String(), "web and metrics": outputs.String()}
	if database == "" {
		for _, f := range []string{"sms/sms.db", "sms/sms.db-wal"} {
			b, _ := os.ReadFile(filepath.Join(dir, f))
			scan[f] = string(b)
		}
	} else {
		scan["database"] = dumpPostgres(t, database)
	}
	if !strings.Contains(outputs.String(), "owl_sms_reminders_total") || len(scan["sms/sms.db"])+len(scan["database"]) == 0 {
		t.Fatal("the scan would see nothing: metrics or database missing")
	}
	if database != "" && (!strings.Contains(scan["database"], fmt.Sprintf("sms_sends: %d rows", r.Eligible)) || !strings.Contains(scan["database"], "river_job: ")) {
		t.Fatalf("the database dump lacks the reminders:\n%.20000s", scan["database"])
	}
	numbers := append([]string{}, landlines...)
	for i := range 30 {
		numbers = append(numbers, phone(i))
	}
	for _, num := range numbers {
		national := num[3:] // without +86
		// bytea columns print as hex in the PostgreSQL dump.
		needles := []string{num, national, hex.EncodeToString([]byte(national))}
		for what, text := range scan {
			for _, needle := range needles {
				if strings.Contains(text, needle) {
					t.Errorf("a plaintext number appears in %s", what)
				}
			}
		}
	}
	ledger, _ := os.ReadFile(filepath.Join(dir, "ledger.jsonl"))
	if !strings.Contains(string(ledger), phone(2)) {
		t.Error("the simulator's ledger lacks a sent number: the scan's needle is wrong")
	}
}
