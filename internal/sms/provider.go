package sms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Message is one streak reminder as a provider sends it.
type Message struct {
	// To is the recipient in E.164 form. It must never be logged.
	To string
	// Ref is owl's reference for the reminder, the same on every attempt, so
	// that the provider's records can be searched for it. It never contains
	// the number.
	Ref        string
	UserID     string
	Date       Date
	StreakDays int
	// Deadline is the user's local midnight: the provider must not deliver
	// the message after it.
	Deadline time.Time
	// Validity is how long the message may wait for delivery: the time
	// left until Deadline when it is sent.
	Validity time.Duration
}

// Provider sends reminders and searches its own records for them.
type Provider interface {
	// Send hands m to the provider and returns the provider's message id.
	Send(ctx context.Context, m Message) (id string, err error)
	// Lookup searches the provider's records for a message it accepted for
	// m (same recipient, same reference or text, on m's date), for use after
	// an ambiguous outcome.
	Lookup(ctx context.Context, m Message) (id string, found bool, err error)
}

// Ref is the reference of the reminder of user on date d.
func Ref(userID string, d Date) string {
	h := sha256.Sum256([]byte(userID + "\x00" + d.String()))
	return "owl" + hex.EncodeToString(h[:12])
}

// ErrorKind classifies a provider's answer by what may safely follow it.
type ErrorKind int

const (
	// Ambiguous: the provider may or may not have accepted the message
	// (timeout, connection reset, 5xx). Never resend without a lookup.
	Ambiguous ErrorKind = iota
	// Throttled: the provider refused the message for now and did not
	// accept it; retrying later is safe.
	Throttled
	// Rejected: the provider refused the message for good (invalid number,
	// business limit); retrying is pointless.
	Rejected
	// OptedOut: the recipient has unsubscribed.
	OptedOut
)

func (k ErrorKind) String() string {
	switch k {
	case Throttled:
		return "throttled"
	case Rejected:
		return "rejected"
	case OptedOut:
		return "opted_out"
	default:
		return "ambiguous"
	}
}

// ProviderError is a provider's refusal or an unclear outcome. Reason is a
// short, stable, metric-safe word such as "invalid_number"; Code is the
// provider's own code. Neither ever contains a phone number.
type ProviderError struct {
	Kind   ErrorKind
	Reason string
	Code   string
	// RetryAfter is the provider's hint for Throttled, if it gave one.
	RetryAfter time.Duration
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("provider: %s (%s, code %s)", e.Reason, e.Kind, e.Code)
}

// Classify returns err as a *ProviderError; any other error is Ambiguous.
func Classify(err error) *ProviderError {
	var pe *ProviderError
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &ProviderError{Kind: Ambiguous, Reason: "timeout", Code: "timeout"}
	}
	return &ProviderError{Kind: Ambiguous, Reason: "transport", Code: "transport"}
}

// Text is the reminder text for providers that send rendered text.
func Text(m Message) string {
	if m.StreakDays == 1 {
		return "owl: your 1-day streak ends at midnight. One short lesson keeps it going! Reply STOP to opt out."
	}
	return fmt.Sprintf("owl: your %d-day streak ends at midnight. One short lesson keeps it going! Reply STOP to opt out.", m.StreakDays)
}
