package smsstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/owlstack/owl/internal/sms"
)

// The statements in this file work on many reminders at once, so that the
// batch pays one database round trip per group of reminders rather than
// several per reminder.

// column is one column of a table of values passed as parameters.
type column struct {
	name   string
	pgType string
	vals   any // []string or []int64
}

func texts(name string, v []string) column { return column{name, "text", v} }
func ints(name string, v []int64) column   { return column{name, "bigint", v} }

func (c column) len() int {
	switch v := c.vals.(type) {
	case []string:
		return len(v)
	case []int64:
		return len(v)
	}
	panic(fmt.Sprintf("smsstore: column %s of %T", c.name, c.vals))
}

func (c column) at(i int) any {
	switch v := c.vals.(type) {
	case []string:
		return v[i]
	case []int64:
		return v[i]
	}
	panic(fmt.Sprintf("smsstore: column %s of %T", c.name, c.vals))
}

// values returns a FROM item named v holding the columns, one row per
// element, with its parameters numbered from $first: unnest over arrays on
// PostgreSQL (one parameter per column, the same text whatever the size,
// so its prepared statement is reused), a VALUES list on SQLite.
func (q *Tx) values(first int, cols ...column) (string, []any) {
	var b strings.Builder
	var args []any
	if q.pgq != nil {
		b.WriteString("unnest(")
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d::%s[]", first+i, c.pgType)
			args = append(args, c.vals)
		}
		b.WriteString(") AS v(")
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c.name)
		}
		b.WriteString(")")
		return b.String(), args
	}
	b.WriteString("(SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "column%d AS %s", i+1, c.name)
	}
	b.WriteString(" FROM (VALUES ")
	n, p := cols[0].len(), first
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", p)
			p++
			args = append(args, c.at(r))
		}
		b.WriteString(")")
	}
	b.WriteString(")) AS v")
	return b.String(), args
}

// Lease asks for one reminder on behalf of one job.
type Lease struct {
	sms.Key
	JobID int64
}

func leaseColumns(ls []Lease) []column {
	users, dates, jobs := make([]string, len(ls)), make([]string, len(ls)), make([]int64, len(ls))
	for i, l := range ls {
		users[i], dates[i], jobs[i] = l.UserID, l.Date.String(), l.JobID
	}
	return []column{texts("k_user", users), texts("k_date", dates), ints("k_job", jobs)}
}

// Claimed is a reminder leased to a job, with its user.
type Claimed struct {
	Send sms.Send
	User sms.User
	// Intent, when its Ref is set, is the provider call whose intent the
	// lease recorded (ClaimIntentMany); Send is then the row as it was
	// before, queued.
	Intent sms.Intent
}

// ClaimMany leases each reminder of ls to its job until until, unless
// another job holds an unexpired lease, and returns what it leased by
// lease. A lease missing from the result lost to another job or names no
// reminder.
func (q *Tx) ClaimMany(ctx context.Context, ls []Lease, now, until time.Time) (map[Lease]Claimed, error) {
	return q.claimMany(ctx, ls, now, until, "")
}

// ClaimIntentMany leases as ClaimMany does and, in the same write, records
// for each leased reminder that is still queued the intent of a provider
// call at now under ref (state pending, one more attempt), as IntentMany
// would: one write per reminder instead of two.
func (q *Tx) ClaimIntentMany(ctx context.Context, ls []Lease, now, until time.Time, ref string) (map[Lease]Claimed, error) {
	if ref == "" {
		return nil, fmt.Errorf("lease reminders: an intent without a reference")
	}
	return q.claimMany(ctx, ls, now, until, ref)
}

func (q *Tx) claimMany(ctx context.Context, ls []Lease, now, until time.Time, ref string) (map[Lease]Claimed, error) {
	out := make(map[Lease]Claimed, len(ls))
	if len(ls) == 0 {
		return out, nil
	}
	v, args := q.values(4, leaseColumns(ls)...)
	// With an empty ref the CASEs leave every column as it is. A queued
	// row has never carried an intent: nothing returns a row to queued.
	const lease = `UPDATE sms_sends SET lease_job = v.k_job, lease_until = $1,
  state = CASE WHEN $3 <> '' AND state = 'queued' THEN 'pending' ELSE state END,
  attempts = CASE WHEN $3 <> '' AND state = 'queued' THEN attempts + 1 ELSE attempts END,
  intent_at = CASE WHEN $3 <> '' AND state = 'queued' THEN $2 ELSE intent_at END,
  updated_at = CASE WHEN $3 <> '' AND state = 'queued' THEN $2 ELSE updated_at END,
  attempt_ref = CASE WHEN $3 <> '' AND state = 'queued' THEN $3 ELSE attempt_ref END
FROM %s
WHERE user_id = v.k_user AND local_date = v.k_date AND (lease_job = 0 OR lease_job = v.k_job OR lease_until < $2)
RETURNING user_id, local_date, zone, deadline, state, reason, message_id, attempts, intent_at, job_id, attempt_ref, lease_job`
	args = append([]any{micros(until), micros(now), ref}, args...)
	// intended undoes, in what a lease returns, the intent it recorded.
	intended := func(c *Claimed, job int64) {
		if ref == "" || c.Send.AttemptRef != ref || c.Send.State != sms.Pending || micros(c.Send.IntentAt) != micros(now) {
			return
		}
		c.Intent = sms.Intent{Key: c.Send.Key, JobID: job, At: c.Send.IntentAt, Ref: ref}
		c.Send.State, c.Send.Attempts, c.Send.IntentAt, c.Send.AttemptRef = sms.Queued, c.Send.Attempts-1, time.Time{}, ""
	}
	if q.pgq != nil {
		// PostgreSQL leases and reads the users in one round trip.
		return q.claimJoined(ctx, fmt.Sprintf(lease, v), args, len(ls), intended)
	}
	rs, err := q.query(ctx, fmt.Sprintf(lease, v), args...)
	if err != nil {
		return nil, fmt.Errorf("lease reminders: %w", err)
	}
	defer rs.Close()
	var users []string
	for rs.Next() {
		var job int64
		s, err := scanSend(rs, &job)
		if err != nil {
			return nil, fmt.Errorf("lease reminders: %w", err)
		}
		c := Claimed{Send: s}
		intended(&c, job)
		out[Lease{Key: s.Key, JobID: job}] = c
		users = append(users, s.UserID)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("lease reminders: %w", err)
	}
	rs.Close()
	byID, err := q.Users(ctx, users)
	if err != nil {
		return nil, err
	}
	for l, c := range out {
		u, ok := byID[l.UserID]
		if !ok {
			return nil, fmt.Errorf("lease reminders: user %s of a reminder: not found", l.UserID)
		}
		c.User = u
		out[l] = c
	}
	return out, nil
}

// claimJoined runs the lease statement with its users joined, on
// PostgreSQL, where a data-modifying statement may feed a query.
func (q *Tx) claimJoined(ctx context.Context, lease string, args []any, n int, intended func(*Claimed, int64)) (map[Lease]Claimed, error) {
	out := make(map[Lease]Claimed, n)
	rs, err := q.query(ctx, `WITH c AS (`+lease+`)
SELECT c.user_id, c.local_date, c.zone, c.deadline, c.state, c.reason, c.message_id, c.attempts, c.intent_at, c.job_id, c.attempt_ref, c.lease_job,
  u.user_id IS NOT NULL, COALESCE(u.phone_ct, ''::bytea), COALESCE(u.phone_index, ''::bytea), COALESCE(u.time_zone, ''),
  COALESCE(u.streak_days, 0), COALESCE(u.last_active_at, 0), COALESCE(u.opted_out, 0)
FROM c LEFT JOIN sms_users u ON u.user_id = c.user_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("lease reminders: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var job, streak, last, opted int64
		var found bool
		var u sms.User
		s, err := scanSend(rs, &job, &found, &u.PhoneCiphertext, &u.PhoneIndex, &u.TimeZone, &streak, &last, &opted)
		if err != nil {
			return nil, fmt.Errorf("lease reminders: %w", err)
		}
		if !found {
			return nil, fmt.Errorf("lease reminders: user %s of a reminder: not found", s.UserID)
		}
		u.ID, u.StreakDays, u.LastActiveAt, u.OptedOut = s.UserID, int(streak), fromMicros(last), opted != 0
		c := Claimed{Send: s, User: u}
		intended(&c, job)
		out[Lease{Key: s.Key, JobID: job}] = c
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("lease reminders: %w", err)
	}
	return out, nil
}

// Users returns the users with the given ids, by id.
func (q *Tx) Users(ctx context.Context, ids []string) (map[string]sms.User, error) {
	out := make(map[string]sms.User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	v, args := q.values(1, texts("k_user", ids))
	rs, err := q.query(ctx, `SELECT user_id, phone_ct, phone_index, time_zone, streak_days, last_active_at, opted_out
FROM sms_users WHERE user_id IN (SELECT k_user FROM `+v+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var u sms.User
		var streak, last, opted int64
		if err := rs.Scan(&u.ID, &u.PhoneCiphertext, &u.PhoneIndex, &u.TimeZone, &streak, &last, &opted); err != nil {
			return nil, fmt.Errorf("read users: %w", err)
		}
		u.StreakDays, u.LastActiveAt, u.OptedOut = int(streak), fromMicros(last), opted != 0
		out[u.ID] = u
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	return out, nil
}

// IntentMany records, for each intent whose job still holds the lease,
// that a provider call is about to be made (state pending, one more
// attempt, at its At, under its Ref), and returns one answer per intent,
// in order: nothing may be sent for those not recorded.
func (q *Tx) IntentMany(ctx context.Context, ins []sms.Intent) ([]bool, error) {
	out := make([]bool, len(ins))
	if len(ins) == 0 {
		return out, nil
	}
	n := len(ins)
	users, dates, refs, jobs, ats := make([]string, n), make([]string, n), make([]string, n), make([]int64, n), make([]int64, n)
	for i, in := range ins {
		users[i], dates[i], refs[i], jobs[i], ats[i] = in.UserID, in.Date.String(), in.Ref, in.JobID, micros(in.At)
	}
	v, args := q.values(1, texts("k_user", users), texts("k_date", dates), ints("k_job", jobs), ints("k_at", ats), texts("k_ref", refs))
	rs, err := q.query(ctx, `UPDATE sms_sends SET state = 'pending', attempts = attempts + 1, intent_at = v.k_at, updated_at = v.k_at,
  attempt_ref = v.k_ref
FROM `+v+`
WHERE user_id = v.k_user AND local_date = v.k_date AND lease_job = v.k_job AND state IN ('queued', 'pending')
RETURNING user_id, local_date, lease_job`, args...)
	if err != nil {
		return nil, fmt.Errorf("record intents: %w", err)
	}
	defer rs.Close()
	recorded := make(map[Lease]bool, n)
	for rs.Next() {
		var user, date string
		var job int64
		if err := rs.Scan(&user, &date, &job); err != nil {
			return nil, fmt.Errorf("record intents: %w", err)
		}
		d, err := sms.ParseDate(date)
		if err != nil {
			return nil, fmt.Errorf("record intents: %w", err)
		}
		recorded[Lease{Key: sms.Key{UserID: user, Date: d}, JobID: job}] = true
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("record intents: %w", err)
	}
	for i, in := range ins {
		out[i] = recorded[Lease{Key: in.Key, JobID: in.JobID}]
	}
	return out, nil
}

// FinishMany records final outcomes, leaving reminders that are final
// already as they are, and reports how many rows it changed.
func (q *Tx) FinishMany(ctx context.Context, fs []sms.Final) (int, error) {
	if len(fs) == 0 {
		return 0, nil
	}
	query, args := q.finishStatement(fs)
	changed, err := q.exec(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("record outcomes: %w", err)
	}
	return int(changed), nil
}

func (q *Tx) finishStatement(fs []sms.Final) (string, []any) {
	n := len(fs)
	users, dates, states, reasons, ids := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	cpus, ats := make([]int64, n), make([]int64, n)
	for i, f := range fs {
		users[i], dates[i], states[i], reasons[i], ids[i] = f.UserID, f.Date.String(), string(f.State), f.Reason, f.MessageID
		cpus[i], ats[i] = int64(f.CPU), micros(f.At)
	}
	v, args := q.values(1, texts("k_user", users), texts("k_date", dates), texts("k_state", states), texts("k_reason", reasons),
		texts("k_msg", ids), ints("k_cpu", cpus), ints("k_at", ats))
	return `UPDATE sms_sends SET state = v.k_state, reason = v.k_reason, message_id = v.k_msg,
  cpu_ns = cpu_ns + v.k_cpu, lease_job = 0, lease_until = 0, updated_at = v.k_at
FROM ` + v + `
WHERE user_id = v.k_user AND local_date = v.k_date AND state IN ('queued', 'pending')`, args
}

// FinishManyWith records final outcomes as FinishMany does and runs then,
// a statement with its arguments (the completion of the reminders' jobs),
// in the same transaction. On PostgreSQL both go in one round trip: one
// pipeline, which PostgreSQL runs as one implicit transaction.
func (db *DB) FinishManyWith(ctx context.Context, fs []sms.Final, then string, args ...any) error {
	if db.Pool == nil {
		return db.InTx(ctx, func(tx *Tx) error {
			if _, err := tx.FinishMany(ctx, fs); err != nil {
				return err
			}
			_, err := tx.exec(ctx, then, args...)
			return err
		})
	}
	var b pgx.Batch
	if len(fs) > 0 {
		query, fargs := db.Q().finishStatement(fs)
		b.Queue(query, fargs...)
	}
	b.Queue(then, args...)
	if err := db.Pool.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("record outcomes and complete jobs: %w", err)
	}
	return nil
}

// SetJobs records, for each reminder, the job that works it.
func (q *Tx) SetJobs(ctx context.Context, ls []Lease) error {
	if len(ls) == 0 {
		return nil
	}
	v, args := q.values(1, leaseColumns(ls)...)
	_, err := q.exec(ctx, `UPDATE sms_sends SET job_id = v.k_job FROM `+v+`
WHERE user_id = v.k_user AND local_date = v.k_date`, args...)
	if err != nil {
		return fmt.Errorf("record jobs of reminders: %w", err)
	}
	return nil
}
