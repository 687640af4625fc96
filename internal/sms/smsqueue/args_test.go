package smsqueue

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// plainArgs is ReminderArgs decoded by encoding/json's reflection.
type plainArgs struct {
	UserID     string    `json:"user_id"`
	Date       string    `json:"local_date"`
	Deadline   time.Time `json:"deadline"`
	Generation int64     `json:"gen,omitempty"`
}

func TestReminderArgsRoundTrip(t *testing.T) {
	bj, _ := time.LoadLocation("Asia/Shanghai")
	for _, a := range []ReminderArgs{
		{UserID: "u0000001", Date: "2026-03-10", Deadline: time.Date(2026, 3, 11, 0, 0, 0, 0, bj).UTC()},
		{UserID: "u\"é\\x", Date: "2026-03-10", Deadline: time.Date(2026, 3, 11, 0, 0, 0, 0, bj), Generation: 1773057600123456789},
		{UserID: "u2", Date: "2026-03-10", Deadline: time.Date(2026, 3, 10, 16, 0, 0, 123000, time.UTC)},
	} {
		data, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var got ReminderArgs
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if !got.Deadline.Equal(a.Deadline) {
			t.Errorf("%s: deadline %v, want %v", data, got.Deadline, a.Deadline)
		}
		got.Deadline, a.Deadline = time.Time{}, time.Time{}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", data, diff)
		}
	}
}

func TestReminderArgsErrors(t *testing.T) {
	for _, in := range []string{
		`{"user_id":1}`,
		`{"gen":"1"}`,
		`{"gen":1.5}`,
		`{"deadline":"tomorrow"}`,
		`[]`,
	} {
		var a ReminderArgs
		if err := json.Unmarshal([]byte(in), &a); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

// FuzzReminderArgs checks the hand-written decoder against encoding/json:
// the same verdict, and the same arguments when both accept.
func FuzzReminderArgs(f *testing.F) {
	f.Add(`{"user_id":"u0000001","local_date":"2026-03-10","deadline":"2026-03-10T16:00:00Z"}`)
	f.Add(`{"user_id":"u1","local_date":"2026-03-10","deadline":"2026-03-11T00:00:00+08:00","gen":1773057600123456789}`)
	f.Add(`{"USER_ID":"a\u00e9","Gen":-3,"other":[1,{"x":null}],"deadline":null}`)
	f.Add(` { "local_date" : "x" , "user_id":null } `)
	f.Fuzz(func(t *testing.T, in string) {
		var want plainArgs
		werr := json.Unmarshal([]byte(in), &want)
		var got ReminderArgs
		err := json.Unmarshal([]byte(in), &got)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%s: error %v, encoding/json's %v", in, err, werr)
		}
		if err != nil {
			return
		}
		if !got.Deadline.Equal(want.Deadline) || got.Deadline.Location().String() != want.Deadline.Location().String() {
			t.Fatalf("%s: deadline %v, encoding/json's %v", in, got.Deadline, want.Deadline)
		}
		_, off1 := got.Deadline.Zone()
		_, off2 := want.Deadline.Zone()
		if off1 != off2 {
			t.Fatalf("%s: deadline offset %d, encoding/json's %d", in, off1, off2)
		}
		if got.UserID != want.UserID || got.Date != want.Date || got.Generation != want.Generation {
			t.Fatalf("%s: %+v, encoding/json's %+v", in, got, want)
		}
	})
}
