package smssystem

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/logging"
	"github.com/owlstack/owl/internal/pgtest"
	"github.com/owlstack/owl/internal/runner"
	"github.com/owlstack/owl/internal/sms"
	"github.com/owlstack/owl/internal/sms/smssim"
)

// The crash tests run workers as child processes of the test binary: with
// OWL_SMS_CHILD set, TestMain runs a worker instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("OWL_SMS_CHILD") != "" {
		os.Exit(childWorker())
	}
	if os.Getenv("OWL_SMS_SIM_CHILD") != "" {
		os.Exit(childSimulator())
	}
	os.Exit(m.Run())
}

// childWorker runs a worker configured by OWL_SMS_* variables. With
// OWL_SMS_CRASH=point:n it announces the n-th passage through point on
// stdout and waits there to be killed.
func childWorker() int {
	offset, _ := strconv.ParseInt(os.Getenv("OWL_SMS_OFFSET"), 10, 64)
	now := func() time.Time { return time.Now().Add(time.Duration(offset)) }
	cfg := testConfig()
	cfg.Database = os.Getenv("OWL_SMS_DATABASE")
	cfg.Provider = os.Getenv("OWL_SMS_PROVIDER")
	cfg.ProviderURL = os.Getenv("OWL_SMS_PROVIDER_URL")
	cfg.ProviderCA = os.Getenv("OWL_SMS_PROVIDER_CA")
	cfg.AlibabaAccessKeyID, cfg.AlibabaAccessKeySecret = smssim.AlibabaAccessKeyID, smssim.AlibabaAccessKeySecret
	cfg.AlibabaSignName, cfg.AlibabaTemplate = "owl", "SMS_OWL_STREAK"
	cfg.TwilioAccountSID, cfg.TwilioAuthToken, cfg.TwilioFrom = smssim.TwilioAccountSID, smssim.TwilioAuthToken, smssim.TwilioFrom
	point, nth := "", 0
	if c := os.Getenv("OWL_SMS_CRASH"); c != "" {
		p, n, _ := strings.Cut(c, ":")
		point = p
		nth, _ = strconv.Atoi(n)
	}
	var seen atomic.Int64 // the Sender calls hooks from many goroutines
	hook := func(p string) {
		if p != point {
			return
		}
		if seen.Add(1) == int64(nth) {
			fmt.Println("CRASH " + p)
			select {} // wait for SIGKILL
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signalNotify(sigs)
	go func() { <-sigs; stop() }()
	log, _ := logging.New(os.Stderr, logging.Options{Level: os.Getenv("OWL_SMS_CHILD_LOG"), Format: "json"})
	sys, err := Open(ctx, cfg, Options{Data: os.Getenv("OWL_SMS_DATA"), Now: now, Hook: hook, Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	defer sys.Close()
	fmt.Println("READY")
	if err := runner.Run(ctx, log, 10*time.Second, sys.Components(false)...); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// crashRun is one database's crash test.
type crashRun struct {
	t        *testing.T
	dir      string
	database string
	night    night
	sim      *smssim.Simulator
	caFile   string
}

func (c *crashRun) child(provider, crash string) (*exec.Cmd, *bufio.Scanner) {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"OWL_SMS_CHILD=1",
		"OWL_SMS_DATA="+c.dir,
		"OWL_SMS_DATABASE="+c.database,
		"OWL_SMS_OFFSET="+strconv.FormatInt(int64(c.night.offset), 10),
		"OWL_SMS_PROVIDER="+provider,
		"OWL_SMS_PROVIDER_URL="+c.sim.URL(),
		"OWL_SMS_PROVIDER_CA="+c.caFile,
		"OWL_SMS_CRASH="+crash,
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if c.t.Failed() && stderr.Len() > 0 {
			c.t.Logf("child stderr:\n%s", stderr.String())
		}
	})
	return cmd, bufio.NewScanner(out)
}

func testCrashes(t *testing.T, database, provider string) {
	if testing.Short() {
		t.Skip("kills and restarts worker processes many times; skipped with -short")
	}
	dir := t.TempDir()
	n := newNight()
	ctx := context.Background()
	// The simulator lives in this process: it is the provider, and its
	// ledger outlives every worker.
	sim, err := smssim.New(smssim.Options{
		Latency: 2 * time.Millisecond, ReceiptDelay: 100 * time.Millisecond, ThrottleRate: 0.05, ServerErrorRate: 0.05,
		TimeoutRate: 0.02, Hang: 1500 * time.Millisecond, Now: n.now, Seed: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	sctx, stopSim := context.WithCancel(ctx)
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(sctx) }()
	defer func() {
		stopSim()
		if err := <-simDone; err != nil {
			t.Error(err)
		}
	}()
	ca := filepath.Join(dir, "sim.pem")
	if err := os.WriteFile(ca, sim.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig()
	cfg.Database = database
	admin, err := Open(ctx, cfg, Options{Data: dir, Now: n.now, NoWorkers: true})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	csv, eligible := population(t, dir, 60, n.date)
	f, _ := os.Open(csv)
	if _, err := Import(ctx, admin.DB, admin.Keys.Cipher(), f, csv, "", n.now(), nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := admin.Queue.EnqueueDate(ctx, n.date, false); err != nil {
		t.Fatal(err)
	}

	c := &crashRun{t: t, dir: dir, database: database, night: n, sim: sim, caFile: ca}
	rng := rand.New(rand.NewPCG(1, 2))
	points := []string{sms.PointBeforeSend, sms.PointAfterAccept, sms.PointAfterCommit}
	kills := 0
	for range 4 {
		for _, p := range points {
			cmd, out := c.child(provider, fmt.Sprintf("%s:%d", p, 1+rng.IntN(4)))
			crashed := make(chan bool, 1)
			go func() {
				for out.Scan() {
					if strings.HasPrefix(out.Text(), "CRASH") {
						crashed <- true
						return
					}
				}
				crashed <- false
			}()
			select {
			case ok := <-crashed:
				if ok {
					kills++
				}
			case <-time.After(15 * time.Second):
				// Nothing left to crash on: the batch is done.
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}
	if kills < 6 {
		t.Errorf("only %d workers were killed at a crash point", kills)
	}
	// A last worker, left alone, finishes the batch.
	cmd, _ := c.child(provider, "")
	r := waitDone(t, ctx, admin, n.date, 90*time.Second)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()

	if r.Sent != len(eligible) {
		t.Errorf("report: sent %d, want %d (%+v)", r.Sent, len(eligible), r)
	}
	for _, p := range eligible {
		if got := len(sim.Messages(p)); got != 1 {
			t.Errorf("an eligible number got %d messages, want exactly 1", got)
		}
	}
	if got := len(sim.Messages("")); got != len(eligible) {
		t.Errorf("the simulator accepted %d messages, want %d", got, len(eligible))
	}
	st := sim.Stats()
	if provider == "alibaba" && (st.Batches == 0 || st.Batches >= int64(len(eligible))) {
		t.Errorf("%d batch calls for %d messages: the sends did not go in batches", st.Batches, len(eligible))
	}
	t.Logf("%d kills at crash points; simulator: %+v", kills, st)
}

// A provider's records only know its own messages, so each run keeps one
// provider: Alibaba Cloud (whose sends go in batches, SendBatchSms) on
// SQLite and on PostgreSQL, Twilio (one by one) on PostgreSQL.
func TestCrashesSQLite(t *testing.T) { testCrashes(t, "", "alibaba") }

func TestCrashesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts worker processes many times; skipped with -short")
	}
	testCrashes(t, pgtest.NewDatabase(t), "twilio")
}

func TestCrashesPostgresBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts worker processes many times; skipped with -short")
	}
	testCrashes(t, pgtest.NewDatabase(t), "alibaba")
}
