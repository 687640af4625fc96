package smsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/sms"
)

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// UpsertUser inserts u or replaces the stored row of the same id. keyID is
// the id of the key that sealed the phone ciphertext.
func (q *Tx) UpsertUser(ctx context.Context, u sms.User, keyID uint32, now time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO sms_users (user_id, phone_ct, phone_key, phone_index, time_zone, streak_days, last_active_at, opted_out, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (user_id) DO UPDATE SET phone_ct = excluded.phone_ct, phone_key = excluded.phone_key,
  phone_index = excluded.phone_index, time_zone = excluded.time_zone, streak_days = excluded.streak_days,
  last_active_at = excluded.last_active_at, opted_out = excluded.opted_out, updated_at = excluded.updated_at`,
		u.ID, u.PhoneCiphertext, int64(keyID), u.PhoneIndex, u.TimeZone, int64(u.StreakDays), micros(u.LastActiveAt), b2i(u.OptedOut), micros(now))
	if err != nil {
		return fmt.Errorf("store user %s: %w", u.ID, err)
	}
	return nil
}

// User returns one user.
func (q *Tx) User(ctx context.Context, id string) (sms.User, error) {
	var u sms.User
	var streak, last, opted int64
	err := q.queryRow(ctx, `SELECT user_id, phone_ct, phone_index, time_zone, streak_days, last_active_at, opted_out FROM sms_users WHERE user_id = $1`, id).
		Scan(&u.ID, &u.PhoneCiphertext, &u.PhoneIndex, &u.TimeZone, &streak, &last, &opted)
	if errors.Is(err, errNoRows) {
		return u, fmt.Errorf("user %s: not found", id)
	}
	if err != nil {
		return u, fmt.Errorf("user %s: %w", id, err)
	}
	u.StreakDays, u.LastActiveAt, u.OptedOut = int(streak), fromMicros(last), opted != 0
	return u, nil
}

// CountUsers counts the users.
func (q *Tx) CountUsers(ctx context.Context) (int, error) {
	var n int64
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM sms_users`).Scan(&n)
	return int(n), err
}

// UsersByIndex returns the ids of the users whose blind index is idx.
func (q *Tx) UsersByIndex(ctx context.Context, idx []byte) ([]string, error) {
	rs, err := q.query(ctx, `SELECT user_id FROM sms_users WHERE phone_index = $1 ORDER BY user_id`, idx)
	if err != nil {
		return nil, fmt.Errorf("find users by number: %w", err)
	}
	defer rs.Close()
	var ids []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rs.Err()
}

// OptOut marks a user as opted out.
func (q *Tx) OptOut(ctx context.Context, userID string, now time.Time) error {
	_, err := q.exec(ctx, `UPDATE sms_users SET opted_out = 1, updated_at = $2 WHERE user_id = $1`, userID, micros(now))
	if err != nil {
		return fmt.Errorf("opt out user %s: %w", userID, err)
	}
	return nil
}

// Zones lists the distinct time zones of the users.
func (q *Tx) Zones(ctx context.Context) ([]string, error) {
	rs, err := q.query(ctx, `SELECT DISTINCT time_zone FROM sms_users ORDER BY time_zone`)
	if err != nil {
		return nil, fmt.Errorf("list zones: %w", err)
	}
	defer rs.Close()
	var zones []string
	for rs.Next() {
		var z string
		if err := rs.Scan(&z); err != nil {
			return nil, err
		}
		zones = append(zones, z)
	}
	return zones, rs.Err()
}

// Candidate is a user of a zone with whether a reminder row for the date
// exists already.
type Candidate struct {
	sms.User
	HasSend bool
}

// UsersPage returns up to limit users of zone with ids after after, in id
// order, each with whether a reminder for d exists.
func (q *Tx) UsersPage(ctx context.Context, zone string, d sms.Date, after string, limit int) ([]Candidate, error) {
	// EXISTS probes the sends primary key once per user of the page.
	rs, err := q.query(ctx, `SELECT u.user_id, u.streak_days, u.last_active_at, u.opted_out, u.time_zone,
  CASE WHEN EXISTS (SELECT 1 FROM sms_sends s WHERE s.user_id = u.user_id AND s.local_date = $2) THEN 1 ELSE 0 END
FROM sms_users u
WHERE u.time_zone = $1 AND u.user_id > $3 ORDER BY u.user_id LIMIT $4`, zone, d.String(), after, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("list users of %s: %w", zone, err)
	}
	defer rs.Close()
	var out []Candidate
	for rs.Next() {
		var c Candidate
		var streak, last, opted, has int64
		if err := rs.Scan(&c.ID, &streak, &last, &opted, &c.TimeZone, &has); err != nil {
			return nil, err
		}
		c.StreakDays, c.LastActiveAt, c.OptedOut, c.HasSend = int(streak), fromMicros(last), opted != 0, has != 0
		out = append(out, c)
	}
	return out, rs.Err()
}

// InsertSends inserts queued reminders, in one statement, and returns the
// keys of those that did not exist yet; existing ones are left as they are.
func (q *Tx) InsertSends(ctx context.Context, sends []sms.Send, now time.Time) ([]sms.Key, error) {
	if len(sends) == 0 {
		return nil, nil
	}
	n := len(sends)
	users, dates, zones, deadlines := make([]string, n), make([]string, n), make([]string, n), make([]int64, n)
	for i, s := range sends {
		users[i], dates[i], zones[i], deadlines[i] = s.UserID, s.Date.String(), s.Zone, micros(s.Deadline)
	}
	v, args := q.values(2, texts("k_user", users), texts("k_date", dates), texts("k_zone", zones), ints("k_deadline", deadlines))
	// WHERE true keeps SQLite from reading ON CONFLICT as a join constraint.
	rs, err := q.query(ctx, `INSERT INTO sms_sends (user_id, local_date, zone, deadline, state, created_at, updated_at)
SELECT k_user, k_date, k_zone, k_deadline, 'queued', $1, $1 FROM `+v+` WHERE true
ON CONFLICT (user_id, local_date) DO NOTHING RETURNING user_id, local_date`, append([]any{micros(now)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("insert reminders: %w", err)
	}
	defer rs.Close()
	var inserted []sms.Key
	for rs.Next() {
		var user, date string
		if err := rs.Scan(&user, &date); err != nil {
			return nil, fmt.Errorf("insert reminders: %w", err)
		}
		d, err := sms.ParseDate(date)
		if err != nil {
			return nil, fmt.Errorf("insert reminders: %w", err)
		}
		inserted = append(inserted, sms.Key{UserID: user, Date: d})
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("insert reminders: %w", err)
	}
	return inserted, nil
}

// RecordBatch stores the selection counts of one zone's batch.
func (q *Tx) RecordBatch(ctx context.Context, d sms.Date, zone string, eligible int, skipped map[string]int, now time.Time) error {
	js, err := json.Marshal(skipped)
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, `INSERT INTO sms_batches (local_date, zone, eligible, skipped, selected_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (local_date, zone) DO UPDATE SET eligible = excluded.eligible, skipped = excluded.skipped, selected_at = excluded.selected_at`,
		d.String(), zone, int64(eligible), string(js), micros(now))
	if err != nil {
		return fmt.Errorf("record batch %s %s: %w", d, zone, err)
	}
	return nil
}

// BatchSelected reports whether the batch of zone for d was selected.
func (q *Tx) BatchSelected(ctx context.Context, d sms.Date, zone string) (bool, error) {
	var n int64
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM sms_batches WHERE local_date = $1 AND zone = $2`, d.String(), zone).Scan(&n)
	return n > 0, err
}

const sendColumns = `s.user_id, s.local_date, s.zone, s.deadline, s.state, s.reason, s.message_id, s.attempts, s.intent_at, s.job_id, s.attempt_ref`

func scanSend(r row, extra ...any) (sms.Send, error) {
	var s sms.Send
	var date, state string
	var deadline, attempts, intent int64
	dest := append([]any{&s.UserID, &date, &s.Zone, &deadline, &state, &s.Reason, &s.MessageID, &attempts, &intent, &s.JobID, &s.AttemptRef}, extra...)
	if err := r.Scan(dest...); err != nil {
		return s, err
	}
	d, err := sms.ParseDate(date)
	if err != nil {
		return s, err
	}
	s.Date, s.Deadline, s.State, s.Attempts, s.IntentAt = d, fromMicros(deadline), sms.State(state), int(attempts), fromMicros(intent)
	return s, nil
}

// Send returns one reminder.
func (q *Tx) Send(ctx context.Context, k sms.Key) (sms.Send, error) {
	s, err := scanSend(q.queryRow(ctx, `SELECT `+sendColumns+` FROM sms_sends s WHERE s.user_id = $1 AND s.local_date = $2`, k.UserID, k.Date.String()))
	if errors.Is(err, errNoRows) {
		return s, sms.ErrNoSend
	}
	return s, err
}

// Release gives up jobID's lease on a reminder, leaving its state as it is.
func (q *Tx) Release(ctx context.Context, k sms.Key, jobID int64) error {
	_, err := q.exec(ctx, `UPDATE sms_sends SET lease_job = 0, lease_until = 0 WHERE user_id = $1 AND local_date = $2 AND lease_job = $3`,
		k.UserID, k.Date.String(), jobID)
	if err != nil {
		return fmt.Errorf("release reminder: %w", err)
	}
	return nil
}

// Stale returns up to limit reminders still in flight whose lease expired
// and that have not changed since before cutoff: candidates for rescue.
func (q *Tx) Stale(ctx context.Context, now, cutoff time.Time, limit int) ([]sms.Send, error) {
	rs, err := q.query(ctx, `SELECT `+sendColumns+` FROM sms_sends s
WHERE s.state IN ('queued', 'pending') AND s.lease_until < $1 AND s.updated_at < $2
ORDER BY s.updated_at LIMIT $3`, micros(now), micros(cutoff), int64(limit))
	if err != nil {
		return nil, fmt.Errorf("list stale reminders: %w", err)
	}
	defer rs.Close()
	var out []sms.Send
	for rs.Next() {
		s, err := scanSend(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rs.Err()
}

// Touch marks a reminder as looked at now, so that Stale skips it for a
// while.
func (q *Tx) Touch(ctx context.Context, k sms.Key, now time.Time) error {
	_, err := q.exec(ctx, `UPDATE sms_sends SET updated_at = $3 WHERE user_id = $1 AND local_date = $2`, k.UserID, k.Date.String(), micros(now))
	return err
}

// Report builds the report of the batch of d.
func (q *Tx) Report(ctx context.Context, d sms.Date) (*sms.Report, error) {
	r := sms.NewReport(d)
	rs, err := q.query(ctx, `SELECT state, reason, COUNT(*), COALESCE(SUM(cpu_ns), 0) FROM sms_sends WHERE local_date = $1 GROUP BY state, reason`, d.String())
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", d, err)
	}
	defer rs.Close()
	var cpu int64
	for rs.Next() {
		var state, reason string
		var n, ns int64
		if err := rs.Scan(&state, &reason, &n, &ns); err != nil {
			return nil, err
		}
		cpu += ns
		r.Eligible += int(n)
		switch sms.State(state) {
		case sms.Sent:
			r.Sent += int(n)
		case sms.Failed:
			r.Failed[reason] += int(n)
		case sms.Skipped:
			r.Skipped[reason] += int(n)
		default:
			r.InFlight += int(n)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	rs.Close()
	bs, err := q.query(ctx, `SELECT skipped FROM sms_batches WHERE local_date = $1`, d.String())
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", d, err)
	}
	defer bs.Close()
	for bs.Next() {
		var js string
		if err := bs.Scan(&js); err != nil {
			return nil, err
		}
		var m map[string]int
		if err := json.NewDecoder(strings.NewReader(js)).Decode(&m); err != nil {
			return nil, fmt.Errorf("report %s: batch counts: %w", d, err)
		}
		for k, v := range m {
			r.Skipped[k] += v
		}
	}
	if r.Sent > 0 {
		r.CPUPerMessageMicros = float64(cpu) / 1e3 / float64(r.Sent)
	}
	return r, bs.Err()
}

// Dates lists the dates that have a batch, newest first.
func (q *Tx) Dates(ctx context.Context, limit int) ([]sms.Date, error) {
	rs, err := q.query(ctx, `SELECT DISTINCT local_date FROM sms_batches ORDER BY local_date DESC LIMIT $1`, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("list batch dates: %w", err)
	}
	defer rs.Close()
	var out []sms.Date
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			return nil, err
		}
		d, err := sms.ParseDate(s)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rs.Err()
}

// CountNotUnder counts phone ciphertexts not sealed with key primary.
func (q *Tx) CountNotUnder(ctx context.Context, primary uint32) (int, error) {
	var n int64
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM sms_users WHERE phone_key <> $1`, int64(primary)).Scan(&n)
	return int(n), err
}

// Reencrypt rewrites up to limit phone ciphertexts not sealed with key
// primary through seal, in one transaction; a row changed meanwhile keeps
// its value (compare-and-swap on the old ciphertext).
func (db *DB) Reencrypt(ctx context.Context, primary uint32, limit int, seal func(userID string, ct []byte) ([]byte, error)) (int, error) {
	done := 0
	err := db.InTx(ctx, func(q *Tx) error {
		rs, err := q.query(ctx, `SELECT user_id, phone_ct FROM sms_users WHERE phone_key <> $1 ORDER BY user_id LIMIT $2`, int64(primary), int64(limit))
		if err != nil {
			return err
		}
		type item struct {
			id string
			ct []byte
		}
		var items []item
		for rs.Next() {
			var it item
			if err := rs.Scan(&it.id, &it.ct); err != nil {
				rs.Close()
				return err
			}
			items = append(items, it)
		}
		if err := rs.Err(); err != nil {
			rs.Close()
			return err
		}
		rs.Close()
		for _, it := range items {
			nct, err := seal(it.id, it.ct)
			if err != nil {
				return err
			}
			n, err := q.exec(ctx, `UPDATE sms_users SET phone_ct = $2, phone_key = $3 WHERE user_id = $1 AND phone_ct = $4`, it.id, nct, int64(primary), it.ct)
			if err != nil {
				return err
			}
			done += int(n)
		}
		return nil
	})
	return done, err
}

// CountNotUnder counts phone ciphertexts not sealed with key primary.
func (db *DB) CountNotUnder(ctx context.Context, primary uint32) (int, error) {
	return db.Q().CountNotUnder(ctx, primary)
}

// AllCiphertexts calls fn with every user's id and phone ciphertext (tests
// and audits).
func (q *Tx) AllCiphertexts(ctx context.Context, fn func(userID string, ct []byte) error) error {
	rs, err := q.query(ctx, `SELECT user_id, phone_ct FROM sms_users ORDER BY user_id`)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		var ct []byte
		if err := rs.Scan(&id, &ct); err != nil {
			return err
		}
		if err := fn(id, ct); err != nil {
			return err
		}
	}
	return rs.Err()
}

// MoveJob points a reminder at a new job, if it still points at old.
func (q *Tx) MoveJob(ctx context.Context, k sms.Key, old, new int64) (bool, error) {
	n, err := q.exec(ctx, `UPDATE sms_sends SET job_id = $4 WHERE user_id = $1 AND local_date = $2 AND job_id = $3 AND state IN ('queued', 'pending')`,
		k.UserID, k.Date.String(), old, new)
	if err != nil {
		return false, fmt.Errorf("move reminder to a new job: %w", err)
	}
	return n == 1, nil
}
