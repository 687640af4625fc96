package shiftproxy

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/owlstack/owl/internal/shift"
)

// WeightsPath is where Handler serves the weights of a proxy; CapacityPath
// its sides' capacity.
const (
	WeightsPath  = "/shift-proxy/v1/weights"
	CapacityPath = "/shift-proxy/v1/capacity"
)

// State is the JSON document of the weights API.
type State struct {
	Shift string `json:"shift"`
	ToBP  int    `json:"to_bp"`
	Fence uint64 `json:"fence"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// WeightsRequest is the body of PUT WeightsPath.
type WeightsRequest struct {
	ToBP  int    `json:"to_bp"`
	Fence uint64 `json:"fence"`
}

// maxRequestBytes bounds a weights request body.
const maxRequestBytes = 4 << 10

// DecodeWeightsRequest reads and checks a weights request body.
func DecodeWeightsRequest(r io.Reader) (WeightsRequest, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxRequestBytes+1))
	dec.DisallowUnknownFields()
	var req struct {
		ToBP  *int    `json:"to_bp"`
		Fence *uint64 `json:"fence"`
	}
	if err := dec.Decode(&req); err != nil {
		return WeightsRequest{}, fmt.Errorf("weights request: %w (want {\"to_bp\": 0..10000, \"fence\": N})", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return WeightsRequest{}, errors.New("weights request: data after the JSON object")
	}
	if req.ToBP == nil {
		return WeightsRequest{}, errors.New("weights request: field to_bp is missing (want 0..10000)")
	}
	if req.Fence == nil {
		return WeightsRequest{}, errors.New("weights request: field fence is missing (want the controller's lease token)")
	}
	out := WeightsRequest{ToBP: *req.ToBP, Fence: *req.Fence}
	if err := (shift.Split{ToBP: out.ToBP}).Validate(); err != nil {
		return WeightsRequest{}, fmt.Errorf("weights request: field to_bp: %w", err)
	}
	return out, nil
}

// Handler returns the weights API of p: GET WeightsPath reads the split,
// PUT WeightsPath sets it (bearer token required; with an empty token
// writes are refused), GET CapacityPath?side=from|to reads a side's
// capacity.
func (p *Proxy) Handler(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+WeightsPath, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, p.state()) })
	mux.HandleFunc("PUT "+WeightsPath, func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="owl shift proxy"`)
			writeError(w, http.StatusUnauthorized, "weight changes need the admin token (Authorization: Bearer ...)")
			return
		}
		req, err := DecodeWeightsRequest(r.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := p.SetWeights(r.Context(), shift.Split{ToBP: req.ToBP}, req.Fence); err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, shift.ErrStaleFence) {
				status = http.StatusConflict
			}
			writeError(w, status, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, p.state())
	})
	mux.HandleFunc("GET "+CapacityPath, func(w http.ResponseWriter, r *http.Request) {
		sd := shift.Side(r.URL.Query().Get("side"))
		if sd != shift.From && sd != shift.To {
			writeError(w, http.StatusBadRequest, "query parameter side: want from or to")
			return
		}
		c, err := p.Capacity(r.Context(), sd)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, c)
	})
	return mux
}

func (p *Proxy) state() State {
	w := p.weights.Load()
	return State{Shift: p.shift, ToBP: w.toBP, Fence: w.fence, From: p.sides[0].label, To: p.sides[1].label}
}

func authorized(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client gone away is not our error
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// Client drives a shift proxy in another process through its weights API;
// it implements shift.DataPlane.
type Client struct {
	// BaseURL is the proxy's URL, e.g. http://127.0.0.1:8090.
	BaseURL string
	// Token is the proxy's admin token.
	Token string
	// HTTP is the client used (http.DefaultClient when nil).
	HTTP *http.Client
}

// SetWeights sets the remote proxy's split; a stale fence is
// shift.ErrStaleFence.
func (c *Client) SetWeights(ctx context.Context, split shift.Split, fence uint64) error {
	body, _ := json.Marshal(WeightsRequest{ToBP: split.ToBP, Fence: fence})
	var st State
	if err := c.do(ctx, http.MethodPut, WeightsPath, body, &st); err != nil {
		return fmt.Errorf("set proxy weights %s: %w", split, err)
	}
	return nil
}

// ReadWeights reads the remote proxy's split.
func (c *Client) ReadWeights(ctx context.Context) (shift.Split, error) {
	var st State
	if err := c.do(ctx, http.MethodGet, WeightsPath, nil, &st); err != nil {
		return shift.Split{}, fmt.Errorf("read proxy weights: %w", err)
	}
	return shift.Split{ToBP: st.ToBP}, nil
}

// Capacity reads a side's capacity as the remote proxy's health probes see it.
func (c *Client) Capacity(ctx context.Context, sd shift.Side) (shift.Capacity, error) {
	var capa shift.Capacity
	if err := c.do(ctx, http.MethodGet, CapacityPath+"?side="+string(sd), nil, &capa); err != nil {
		return shift.Capacity{}, fmt.Errorf("read proxy capacity of %s: %w", sd, err)
	}
	return capa, nil
}

// Resolution is one basis point.
func (c *Client) Resolution() int { return 1 }

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, rd)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		if resp.StatusCode == http.StatusConflict {
			return fmt.Errorf("%s: %w", e.Error, shift.ErrStaleFence)
		}
		return fmt.Errorf("status %d: %s", resp.StatusCode, e.Error)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
