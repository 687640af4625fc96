package sms

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// mapStore is an in-memory SendStore of many reminders.
type mapStore struct {
	mu      sync.Mutex
	sends   map[Key]*Send
	users   map[string]User
	finals  map[Key]Final
	intents []Intent
	// lose makes the intents of these users fail as if their lease was lost.
	lose map[string]bool
}

func newMapStore(now time.Time, n int) (*mapStore, []Key) {
	d := DateOf(now, time.UTC)
	st := &mapStore{sends: map[Key]*Send{}, users: map[string]User{}, finals: map[Key]Final{}, lose: map[string]bool{}}
	var keys []Key
	for i := range n {
		id := fmt.Sprintf("u%02d", i)
		k := Key{id, d}
		keys = append(keys, k)
		st.sends[k] = &Send{Key: k, State: Queued, Deadline: Deadline(d, time.UTC)}
		st.users[id] = User{ID: id, PhoneCiphertext: fmt.Appendf(nil, "+86138%08d", i), TimeZone: "UTC", StreakDays: 4, LastActiveAt: now.Add(-24 * time.Hour)}
	}
	return st, keys
}

func (st *mapStore) Claim(_ context.Context, k Key, _ int64, _, _ time.Time) (Send, User, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.sends[k]
	if !ok {
		return Send{}, User{}, ErrNoSend
	}
	return *s, st.users[k.UserID], nil
}

func (st *mapStore) Intent(ctx context.Context, in Intent) error {
	ok, _ := st.Intents(ctx, []Intent{in})
	if !ok[0] {
		return ErrLeased
	}
	return nil
}

func (st *mapStore) Intents(_ context.Context, ins []Intent) ([]bool, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	ok := make([]bool, len(ins))
	for i, in := range ins {
		if st.lose[in.UserID] {
			continue
		}
		s := st.sends[in.Key]
		s.State, s.IntentAt, s.AttemptRef = Pending, in.At, in.Ref
		s.Attempts++
		st.intents = append(st.intents, in)
		ok[i] = true
	}
	return ok, nil
}

func (st *mapStore) Release(context.Context, Key, int64) error { return nil }

func (st *mapStore) OptOut(_ context.Context, userID string, _ time.Time) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	u := st.users[userID]
	u.OptedOut = true
	st.users[userID] = u
	return nil
}

func (st *mapStore) finish(_ context.Context, f Final) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.finals[f.Key] = f
	st.sends[f.Key].State = f.State
	return nil
}

// batchAnswer scripts the outcome of one batch call.
type batchAnswer struct {
	err    error
	accept bool // accept the messages even though err is returned
}

// batchProvider is a BatchProvider with scripted batch answers (then
// acceptance); single sends refuse the numbers in bad and accept the others.
// It records every accepted message under the reference of its call.
type batchProvider struct {
	mu      sync.Mutex
	answers []batchAnswer
	bad     map[string]*ProviderError
	sizes   []int
	singles int
	// accepted maps a number to the references under which it was accepted.
	accepted map[string][]string
	lookups  int
}

func newBatchProvider(answers ...batchAnswer) *batchProvider {
	return &batchProvider{answers: answers, bad: map[string]*ProviderError{}, accepted: map[string][]string{}}
}

func (p *batchProvider) MaxBatch() int { return 100 }

func (p *batchProvider) SendBatch(_ context.Context, ref string, ms []Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sizes = append(p.sizes, len(ms))
	for _, m := range ms {
		if m.Ref != ref {
			return "", fmt.Errorf("message carries ref %q in a call of ref %q", m.Ref, ref)
		}
	}
	var a batchAnswer
	if len(p.answers) > 0 {
		a, p.answers = p.answers[0], p.answers[1:]
	} else {
		a.accept = true
		// A number the provider refuses refuses the whole call.
		for _, m := range ms {
			if e := p.bad[m.To]; e != nil {
				return "", e
			}
		}
	}
	if a.accept {
		for _, m := range ms {
			p.accepted[m.To] = append(p.accepted[m.To], ref)
		}
	}
	if a.err != nil {
		return "", a.err
	}
	return "biz-" + ref, nil
}

func (p *batchProvider) Send(_ context.Context, m Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.singles++
	if e := p.bad[m.To]; e != nil {
		return "", e
	}
	p.accepted[m.To] = append(p.accepted[m.To], m.Ref)
	return "single-" + m.Ref, nil
}

func (p *batchProvider) Lookup(_ context.Context, m Message) (string, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lookups++
	if slices.Contains(p.accepted[m.To], m.Ref) {
		return "found-" + m.Ref, true, nil
	}
	return "", false, nil
}

// runBatch works every reminder of st concurrently, owl's clock at 23:00
// UTC, and returns when all are final.
func runBatch(t *testing.T, st *mapStore, keys []Key, p Provider, size int) {
	t.Helper()
	s := &Sender{Store: st, Phones: plainPhones{}, Provider: p, Log: discard(), Lease: time.Minute,
		LookupDelay: 2 * time.Second, MaxInlineWait: 5 * time.Second, BackoffBase: time.Second, BackoffMax: 8 * time.Second,
		BatchSize: size, BatchLinger: 5 * time.Millisecond}
	s.Now = func() time.Time { return time.Now().Add(23 * time.Hour) }
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() {
			res, err := s.Work(context.Background(), k, int64(i+1), st.sends[k].Deadline, st.finish)
			if err != nil || !res.Finished {
				t.Errorf("Work(%s) = %+v, %v", k.UserID, res, err)
			}
		})
	}
	wg.Wait()
}

func TestBatchGathersConcurrentReminders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, keys := newMapStore(time.Now(), 10)
		p := newBatchProvider()
		runBatch(t, st, keys, p, 4)
		slices.Sort(p.sizes)
		if want := []int{2, 4, 4}; !slices.Equal(p.sizes, want) {
			t.Errorf("batch sizes %v, want %v", p.sizes, want)
		}
		refs := map[string]int{}
		for _, in := range st.intents {
			refs[in.Ref]++
		}
		if len(refs) != 3 || len(st.intents) != 10 {
			t.Errorf("intents %d under refs %v; want 10 under 3 refs", len(st.intents), refs)
		}
		for _, k := range keys {
			f := st.finals[k]
			if f.State != Sent || f.MessageID != "biz-"+st.sends[k].AttemptRef {
				t.Errorf("%s: final %+v, want sent with its batch's id", k.UserID, f)
			}
		}
		if p.singles != 0 || p.lookups != 0 {
			t.Errorf("%d single sends, %d lookups; want none", p.singles, p.lookups)
		}
	})
}

func TestBatchRefusedByOneNumberSendsTheOthersAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, keys := newMapStore(time.Now(), 6)
		p := newBatchProvider()
		bad, optedOut := "+8613800000002", "+8613800000004"
		p.bad[bad] = &ProviderError{Kind: Rejected, Reason: "invalid_number", Code: "isv.MOBILE_NUMBER_ILLEGAL"}
		p.bad[optedOut] = &ProviderError{Kind: OptedOut, Reason: "opted_out", Code: "21610"}
		runBatch(t, st, keys, p, 10)
		for _, k := range keys {
			f, to := st.finals[k], string(st.users[k.UserID].PhoneCiphertext)
			switch to {
			case bad:
				if f.State != Failed || f.Reason != "invalid_number" {
					t.Errorf("refused number: final %+v", f)
				}
			case optedOut:
				if f.State != Skipped || f.Reason != SkipOptedOut || !st.users[k.UserID].OptedOut {
					t.Errorf("opted-out number: final %+v, user %+v", f, st.users[k.UserID])
				}
			default:
				if f.State != Sent || len(p.accepted[to]) != 1 {
					t.Errorf("%s: final %+v, accepted %d times", k.UserID, f, len(p.accepted[to]))
				}
			}
		}
		if len(p.sizes) != 1 || p.singles != 6 || p.lookups != 0 {
			t.Errorf("%v batch calls, %d single sends, %d lookups; want 1 refused batch, 6 singles, no lookup", p.sizes, p.singles, p.lookups)
		}
	})
}

func TestBatchUnclearOutcomeIsLookedUpPerNumber(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer batchAnswer
		calls  int // batch calls in all
	}{
		{"accepted, answer lost", batchAnswer{err: &ProviderError{Kind: Ambiguous, Reason: "timeout"}, accept: true}, 1},
		{"5xx before acceptance", batchAnswer{err: &ProviderError{Kind: Ambiguous, Reason: "server_error"}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st, keys := newMapStore(time.Now(), 5)
				p := newBatchProvider(tc.answer)
				runBatch(t, st, keys, p, 10)
				for _, k := range keys {
					n := len(p.accepted[string(st.users[k.UserID].PhoneCiphertext)])
					if f := st.finals[k]; f.State != Sent || n != 1 {
						t.Errorf("%s: final %+v, accepted %d times; want sent exactly once", k.UserID, f, n)
					}
				}
				if len(p.sizes) != tc.calls || p.lookups != 5 {
					t.Errorf("%d batch calls, %d lookups; want %d calls and one lookup per number", len(p.sizes), p.lookups, tc.calls)
				}
			})
		})
	}
}

func TestBatchThrottledIsRetriedBeforeTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, keys := newMapStore(time.Now(), 8)
		throttled := batchAnswer{err: &ProviderError{Kind: Throttled, Reason: "throttled"}}
		p := newBatchProvider(throttled, throttled, throttled)
		runBatch(t, st, keys, p, 10)
		for _, k := range keys {
			n := len(p.accepted[string(st.users[k.UserID].PhoneCiphertext)])
			if f := st.finals[k]; f.State != Sent || n != 1 {
				t.Errorf("%s: final %+v, accepted %d times", k.UserID, f, n)
			}
		}
		if p.lookups != 0 {
			t.Errorf("%d lookups after throttling, want none: nothing was accepted", p.lookups)
		}
	})
}

func TestBatchSendsNothingWithoutTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, keys := newMapStore(time.Now(), 3)
		st.lose["u01"] = true
		p := newBatchProvider()
		s := &Sender{Store: st, Phones: plainPhones{}, Provider: p, Log: discard(), Lease: time.Minute,
			LookupDelay: time.Second, MaxInlineWait: time.Second, BatchSize: 10, BatchLinger: time.Millisecond}
		s.Now = func() time.Time { return time.Now().Add(23 * time.Hour) }
		var wg sync.WaitGroup
		errs := make([]error, len(keys))
		for i, k := range keys {
			wg.Go(func() { _, errs[i] = s.Work(context.Background(), k, int64(i+1), st.sends[k].Deadline, st.finish) })
		}
		wg.Wait()
		if errs[0] != nil || errs[2] != nil || errs[1] == nil {
			t.Errorf("errors %v; want only u01's (lost lease)", errs)
		}
		if len(p.accepted["+8613800000001"]) != 0 || len(p.sizes) != 1 || p.sizes[0] != 2 {
			t.Errorf("batch sizes %v, u01 accepted %d times; want one call of 2 without u01", p.sizes, len(p.accepted["+8613800000001"]))
		}
	})
}
