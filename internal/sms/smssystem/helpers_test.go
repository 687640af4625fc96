package smssystem

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/sms"
)

// night is a date whose batch is under way: owl's clock is shifted so that
// it is a minute past 23:00 in Asia/Shanghai on that date.
type night struct {
	date   sms.Date
	offset time.Duration
}

func newNight() night {
	bj, _ := time.LoadLocation("Asia/Shanghai")
	d := sms.DateOf(time.Now(), bj)
	start := sms.ReminderTime(d, bj).Add(time.Minute)
	return night{date: d, offset: time.Until(start)}
}

func (n night) now() time.Time { return time.Now().Add(n.offset) }

// phone returns the i-th test number, a valid mainland mobile number.
func phone(i int) string { return fmt.Sprintf("+86138%08d", i) }

// population writes a users CSV: users u0..u(n-1), every fifth one not
// eligible (opted out, active today, no streak, streak lost, in turn), and
// returns the file and the numbers of the eligible users.
func population(t testing.TB, dir string, n int, d sms.Date) (string, []string) {
	t.Helper()
	bj, _ := time.LoadLocation("Asia/Shanghai")
	yesterday := d.AddDays(-1).Start(bj).Add(9 * time.Hour).Format(time.RFC3339)
	today := d.Start(bj).Add(8 * time.Hour).Format(time.RFC3339)
	longAgo := d.AddDays(-5).Start(bj).Format(time.RFC3339)
	var b strings.Builder
	b.WriteString("user_id,phone,time_zone,streak_days,last_active_at,opted_out\n")
	var eligible []string
	for i := range n {
		streak, last, opted := 7, yesterday, "false"
		if i%5 == 4 {
			switch (i / 5) % 4 {
			case 0:
				opted = "true"
			case 1:
				last = today
			case 2:
				streak = 0
			case 3:
				last = longAgo
			}
		} else {
			eligible = append(eligible, phone(i))
		}
		fmt.Fprintf(&b, "u%06d,%s,Asia/Shanghai,%d,%s,%s\n", i, phone(i), streak, last, opted)
	}
	path := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, eligible
}

// waitDone polls the report of d until nothing is in flight.
func waitDone(t testing.TB, ctx context.Context, s *System, d sms.Date, timeout time.Duration) *sms.Report {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r, err := s.Report(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if r.Done() && r.Eligible > 0 {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch not done after %s: %+v", timeout, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Workers = 8
	cfg.JobTimeout = 2 * time.Second
	cfg.StuckAfter = 4 * time.Second
	cfg.LookupDelay = 300 * time.Millisecond
	cfg.Poll = 50 * time.Millisecond
	cfg.SimLatency = time.Millisecond
	return cfg
}
