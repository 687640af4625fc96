package sms

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestNormalizePhone(t *testing.T) {
	for _, tc := range []struct{ in, region, want string }{
		{"+86 138 0013 8000", "", "+8613800138000"},
		{"13800138000", "", "+8613800138000"},
		{"(415) 555-2671", "US", "+14155552671"},
	} {
		got, err := NormalizePhone(tc.in, tc.region)
		if err != nil || got != tc.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "12345", "+86 999", "call me"} {
		_, err := NormalizePhone(bad, "")
		if !errors.Is(err, ErrInvalidPhone) {
			t.Errorf("NormalizePhone(%q) err = %v", bad, err)
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("error %q echoes the input", err)
		}
	}
}

func TestAssessAndDeadline(t *testing.T) {
	bj, _ := LoadZone("")
	d, _ := ParseDate("2025-03-10")
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	for _, tc := range []struct {
		u    User
		want string
	}{
		{User{StreakDays: 3, LastActiveAt: at("2025-03-09T23:30:00+08:00")}, ""},
		{User{StreakDays: 3, LastActiveAt: at("2025-03-09T16:30:00Z")}, SkipActiveToday}, // 00:30 on the 10th in Beijing
		{User{StreakDays: 3, LastActiveAt: at("2025-03-08T12:00:00+08:00")}, SkipStreakLost},
		{User{StreakDays: 0, LastActiveAt: at("2025-03-09T12:00:00+08:00")}, SkipNoStreak},
		{User{StreakDays: 3, OptedOut: true, LastActiveAt: at("2025-03-09T12:00:00+08:00")}, SkipOptedOut},
	} {
		if got := Assess(tc.u, d, bj); got != tc.want {
			t.Errorf("Assess(%+v) = %q, want %q", tc.u, got, tc.want)
		}
	}
	if got := Deadline(d, bj).UTC().Format(time.RFC3339); got != "2025-03-10T16:00:00Z" {
		t.Errorf("Deadline = %s", got)
	}
	if got := (DailyAt{Loc: bj}).Next(at("2025-03-10T15:00:00Z")).UTC().Format(time.RFC3339); got != "2025-03-11T15:00:00Z" {
		t.Errorf("DailyAt.Next at 23:00 = %s, want the next day's", got)
	}
	if got := (DailyAt{Loc: bj}).Next(at("2025-03-10T01:00:00Z")).UTC().Format(time.RFC3339); got != "2025-03-10T15:00:00Z" {
		t.Errorf("DailyAt.Next = %s", got)
	}
}

func TestCSVReaderReportsEveryBadRow(t *testing.T) {
	in := "user_id,phone,time_zone,streak_days,last_active_at,opted_out\n" +
		"a,+8613800138000,,2,2025-03-09T08:00:00+08:00,false\n" +
		"b,+8699,,2,2025-03-09T08:00:00+08:00,false\n" +
		"a,+8613800138001,,2,2025-03-09T08:00:00+08:00,maybe\n" +
		"c,+8613800138002,UTC,2,yesterday,true\n"
	r, err := NewCSVReader(strings.NewReader(in), "u.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	var rows []Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		rows = append(rows, row)
	}
	want := []string{
		"u.csv:3:3: phone: not a valid phone number",
		"u.csv:4:1: user_id: user \"a\" repeats line 2",
		"u.csv:5:24: last_active_at: expected an RFC 3339 time",
	}
	if len(errs) != len(want) {
		t.Fatalf("errors %q, want %d", errs, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i], w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
		}
		if strings.Contains(errs[i], "8699") || strings.Contains(errs[i], "138001") {
			t.Errorf("error %q echoes a number", errs[i])
		}
	}
	if len(rows) != 1 || rows[0].TimeZone != DefaultTimeZone || rows[0].Phone != "+8613800138000" {
		t.Errorf("rows = %+v", rows)
	}
	if _, err := NewCSVReader(strings.NewReader("user_id,phone\n"), "h.csv", ""); err == nil || !strings.Contains(err.Error(), `missing column "time_zone"`) {
		t.Errorf("short header: %v", err)
	}
}

func FuzzCSVReader(f *testing.F) {
	f.Add("user_id,phone,time_zone,streak_days,last_active_at,opted_out\na,+8613800138000,,2,2025-03-09T08:00:00+08:00,false\n")
	f.Add("user_id,phone,time_zone,streak_days,last_active_at,opted_out\n\"a,b\n")
	f.Add("phone,user_id\n1,2\n")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := NewCSVReader(strings.NewReader(in), "f.csv", "")
		if err != nil {
			return
		}
		for range 1000 {
			row, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var re *RowError
			if err != nil && !errors.As(err, &re) {
				return
			}
			if err == nil && (row.UserID == "" || !strings.HasPrefix(row.Phone, "+")) {
				t.Fatalf("accepted a bad row: %+v", row)
			}
		}
	})
}

// fakeStore is an in-memory SendStore.
type fakeStore struct {
	mu      sync.Mutex
	send    Send
	user    User
	intents int
	final   *Final
}

func (f *fakeStore) Claim(_ context.Context, k Key, jobID int64, now, until time.Time) (Send, User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.send, f.user, nil
}

func (f *fakeStore) Intent(_ context.Context, in Intent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intents++
	f.send.State, f.send.IntentAt, f.send.AttemptRef = Pending, in.At, in.Ref
	return nil
}

func (f *fakeStore) Intents(ctx context.Context, ins []Intent) ([]bool, error) {
	ok := make([]bool, len(ins))
	for i, in := range ins {
		ok[i] = f.Intent(ctx, in) == nil
	}
	return ok, nil
}

func (f *fakeStore) Release(context.Context, Key, int64) error { return nil }

func (f *fakeStore) OptOut(context.Context, string, time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.user.OptedOut = true
	return nil
}

func (f *fakeStore) finish(_ context.Context, fin Final) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.final = &fin
	return nil
}

type plainPhones struct{}

func (plainPhones) DecryptPhone(ct []byte, _ string) (string, error) {
	if string(ct) == "tampered" {
		return "", errors.New("does not decrypt")
	}
	return string(ct), nil
}

// scripted answers sends from a list of errors, then accepts; sent counts
// the messages it accepted, and it finds them in Lookup.
type scripted struct {
	mu      sync.Mutex
	answers []error
	sent    int
	calls   []time.Time
}

func (s *scripted) Send(context.Context, Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, time.Now())
	if len(s.answers) > 0 {
		err := s.answers[0]
		s.answers = s.answers[1:]
		if errors.Is(err, errAcceptedButLost) {
			s.sent++
			return "", &ProviderError{Kind: Ambiguous, Reason: "timeout"}
		}
		return "", err
	}
	s.sent++
	return "m1", nil
}

func (s *scripted) Lookup(context.Context, Message) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "m1", s.sent > 0, nil
}

var errAcceptedButLost = errors.New("accepted, answer lost")

func newSender(st *fakeStore, p Provider) *Sender {
	return &Sender{Store: st, Phones: plainPhones{}, Provider: p, Log: discard(), Lease: time.Minute,
		LookupDelay: 2 * time.Second, MaxInlineWait: 5 * time.Second, BackoffBase: time.Second, BackoffMax: 8 * time.Second}
}

func eligibleStore(now time.Time) *fakeStore {
	d := DateOf(now, time.UTC)
	return &fakeStore{
		send: Send{Key: Key{"u1", d}, State: Queued, Deadline: Deadline(d, time.UTC)},
		user: User{ID: "u1", PhoneCiphertext: []byte("+8613800138000"), TimeZone: "UTC", StreakDays: 4, LastActiveAt: now.Add(-24 * time.Hour)},
	}
}

func TestSenderOutcomes(t *testing.T) {
	throttled := &ProviderError{Kind: Throttled, Reason: "throttled"}
	for _, tc := range []struct {
		name    string
		answers []error
		at      string // owl's clock at the start (UTC, the user's zone)
		tamper  bool
		state   State
		reason  string
		sent    int
	}{
		{name: "accepted", at: "23:00", state: Sent, sent: 1},
		{name: "throttling storm passes", answers: []error{throttled, throttled, throttled}, at: "23:00", state: Sent, sent: 1},
		{name: "throttled until the deadline", answers: repeat(throttled, 100), at: "23:59:30", state: Failed, reason: "throttled"},
		{name: "timeout after acceptance is looked up, not resent", answers: []error{errAcceptedButLost}, at: "23:00", state: Sent, sent: 1},
		{name: "5xx before acceptance is resent after the lookup", answers: []error{&ProviderError{Kind: Ambiguous, Reason: "server_error"}}, at: "23:00", state: Sent, sent: 1},
		{name: "invalid number", answers: []error{&ProviderError{Kind: Rejected, Reason: "invalid_number"}}, at: "23:00", state: Failed, reason: "invalid_number"},
		{name: "opted out at the provider", answers: []error{&ProviderError{Kind: OptedOut, Reason: "opted_out"}}, at: "23:00", state: Skipped, reason: SkipOptedOut},
		{name: "tampered ciphertext", at: "23:00", tamper: true, state: Failed, reason: "decrypt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// The bubble's clock starts at 2000-01-01 00:00 UTC; move
				// owl's clock to tc.at on that day.
				start := time.Now()
				hms, _ := time.Parse("15:04:05", pad(tc.at))
				offset := time.Duration(hms.Hour())*time.Hour + time.Duration(hms.Minute())*time.Minute + time.Duration(hms.Second())*time.Second
				now := func() time.Time { return time.Now().Add(offset) }
				st := eligibleStore(start)
				if tc.tamper {
					st.user.PhoneCiphertext = []byte("tampered")
				}
				p := &scripted{answers: tc.answers}
				s := newSender(st, p)
				s.Now = now
				res, err := s.Work(context.Background(), st.send.Key, 1, st.send.Deadline, st.finish)
				if err != nil || !res.Finished {
					t.Fatalf("Work = %+v, %v", res, err)
				}
				if st.final.State != tc.state || st.final.Reason != tc.reason || p.sent != tc.sent {
					t.Errorf("final %+v, %d sent; want %s %q, %d sent", st.final, p.sent, tc.state, tc.reason, tc.sent)
				}
				if !now().Before(st.send.Deadline) && tc.state == Sent {
					t.Errorf("sent at %s, after the deadline %s", now(), st.send.Deadline)
				}
				for _, c := range p.calls {
					if !c.Add(offset).Before(st.send.Deadline) {
						t.Errorf("a send was attempted at %s, at or after the deadline", c.Add(offset))
					}
				}
			})
		})
	}
}

func TestSenderNeverSendsAfterDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := eligibleStore(time.Now())
		// A previous attempt left the reminder pending; the provider has no
		// record of it and midnight has passed.
		st.send.State, st.send.IntentAt = Pending, time.Now().Add(23*time.Hour)
		p := &scripted{}
		s := newSender(st, p)
		s.Now = func() time.Time { return time.Now().Add(24*time.Hour + time.Second) }
		if _, err := s.Work(context.Background(), st.send.Key, 1, st.send.Deadline, st.finish); err != nil {
			t.Fatal(err)
		}
		if p.sent != 0 || len(p.calls) != 0 || st.final.State != Failed || st.final.Reason != SkipDeadline {
			t.Errorf("after the deadline: %d calls, final %+v", len(p.calls), st.final)
		}
	})
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

func pad(hm string) string {
	if len(hm) == 5 {
		return hm + ":00"
	}
	return hm
}

func FuzzNormalizePhone(f *testing.F) {
	f.Add("+8613800138000", "")
	f.Add("(415) 555-2671", "US")
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := NormalizePhone(raw, region)
		if err != nil {
			digits := 0
			for _, r := range raw {
				if r >= '0' && r <= '9' {
					digits++
				}
			}
			if digits >= 5 && strings.Contains(err.Error(), raw) {
				t.Fatalf("error %q echoes the number", err)
			}
			return
		}
		if !strings.HasPrefix(got, "+") || len(got) < 3 || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q, %q) = %q, not E.164", raw, region, got)
		}
		// E.164 is a fixed point, whatever the region.
		if again, err := NormalizePhone(got, "US"); err != nil || again != got {
			t.Fatalf("NormalizePhone(%q) = %q, %v; want it unchanged", got, again, err)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	f.Add("2026-03-10")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		// The same verdict and date as time.Parse, which ParseDate skips
		// in the common case.
		want, werr := time.Parse(time.DateOnly, s)
		if (err == nil) != (werr == nil) || err == nil && d != DateOf(want, time.UTC) {
			t.Fatalf("ParseDate(%q) = %v, %v; time.Parse: %v, %v", s, d, err, want, werr)
		}
		if err != nil {
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q) = %s: does not round-trip", s, d)
		}
		if again, err := ParseDate(d.String()); err != nil || again != d {
			t.Fatalf("ParseDate(%s) = %v, %v", d, again, err)
		}
	})
}
