package userstate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/owlstack/owl/internal/session"
)

// MaxSessionBytes bounds a session generator's answer.
const MaxSessionBytes = 4 << 20

// SessionClient calls a session generator's POST /v1/sessions over HTTP.
type SessionClient struct {
	// URL is the generator's base URL, e.g. http://127.0.0.1:8081.
	URL string
	// HTTP is the client; give it a pooled, traced transport.
	HTTP *http.Client
}

// UpstreamError is an answer of the session generator other than 200, or
// no answer at all.
type UpstreamError struct {
	// Status is the HTTP status; 0 when the generator could not be reached.
	Status int
	// Problem is the generator's problem+json answer, when it sent one.
	Problem *session.Problem
	// Msg describes what went wrong when there is no problem document.
	Msg string
}

func (e *UpstreamError) Error() string {
	if e.Status == 0 {
		return "call session generator: " + e.Msg
	}
	if e.Problem != nil {
		return fmt.Sprintf("session generator answered %d: %s", e.Status, e.Problem.Detail)
	}
	return fmt.Sprintf("session generator answered %d: %s", e.Status, e.Msg)
}

// Generate posts req and returns the session as the generator encoded it.
func (c *SessionClient) Generate(ctx context.Context, req *session.APIRequest) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode session request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+"/v1/sessions", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("session request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UpstreamError{Msg: err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxSessionBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read session generator answer: %w", err)
	}
	if len(data) > MaxSessionBytes {
		return nil, &UpstreamError{Status: resp.StatusCode, Msg: fmt.Sprintf("answer larger than %d bytes", MaxSessionBytes)}
	}
	if resp.StatusCode != http.StatusOK {
		ue := &UpstreamError{Status: resp.StatusCode, Msg: http.StatusText(resp.StatusCode)}
		var p session.Problem
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") && json.Unmarshal(data, &p) == nil {
			ue.Problem = &p
		}
		return nil, ue
	}
	return data, nil
}
