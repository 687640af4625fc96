package sms

import (
	"context"
	"errors"
	"strings"
	"time"
)

// OptOutStore is what opt-out handling needs of the database.
type OptOutStore interface {
	UsersByIndex(ctx context.Context, idx []byte) ([]string, error)
	OptOut(ctx context.Context, userID string, now time.Time) error
}

// Indexer computes the blind index of an E.164 number.
type Indexer interface {
	Index(e164 string) ([]byte, error)
}

// IsOptOut reports whether an inbound reply asks for no more messages:
// STOP and its carrier synonyms, TD and 退订 (unsubscribe, in Chinese).
func IsOptOut(body string) bool {
	w := strings.ToUpper(strings.TrimSpace(body))
	switch w {
	case "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "TD", "T", "N", "退订", "退订短信":
		return true
	}
	return false
}

// Replies handles inbound replies from any provider.
type Replies struct {
	Store   OptOutStore
	Index   Indexer
	Region  string
	Now     func() time.Time
	Metrics *Metrics
}

// Handle processes a reply with body from the number from: an opt-out word
// marks every user with that number as opted out. It returns how many users
// it opted out. Errors never contain the number.
func (r *Replies) Handle(ctx context.Context, from, body string) (int, error) {
	if !IsOptOut(body) {
		return 0, nil
	}
	e164, err := NormalizePhone(from, r.Region)
	if errors.Is(err, ErrInvalidPhone) {
		// No user can have this number (short codes, garbage): nothing to
		// opt out, and nothing for the provider to retry.
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	idx, err := r.Index.Index(e164)
	if err != nil {
		return 0, err
	}
	ids, err := r.Store.UsersByIndex(ctx, idx)
	if err != nil {
		return 0, err
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	for _, id := range ids {
		if err := r.Store.OptOut(ctx, id, now()); err != nil {
			return 0, err
		}
	}
	r.Metrics.optOuts(len(ids))
	return len(ids), nil
}
