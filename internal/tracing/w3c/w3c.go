// Package w3c implements the service side of the W3C trace-context test
// suite (github.com/w3c/trace-context, test/): at POST /test it takes a
// JSON array of {"url", "arguments"} and POSTs each element's arguments to
// its url, propagating the trace context of the request it is serving.
package w3c

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Case is one instruction of the suite: POST Arguments to URL.
type Case struct {
	URL       string          `json:"url"`
	Arguments json.RawMessage `json:"arguments"`
}

// Handler serves POST /test; client must propagate trace context (a
// tracectx Tracer's Client) and h must be wrapped in the tracer's Handler.
func Handler(client *http.Client) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /test", func(w http.ResponseWriter, r *http.Request) {
		var cases []Case
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		if err := dec.Decode(&cases); err != nil {
			http.Error(w, fmt.Sprintf("want a JSON array of {\"url\", \"arguments\"}: %v", err), http.StatusBadRequest)
			return
		}
		for i, c := range cases {
			if err := post(r, client, c); err != nil {
				http.Error(w, fmt.Sprintf("case %d (%s): %v", i, c.URL, err), http.StatusBadGateway)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

func post(r *http.Request, client *http.Client, c Case) error {
	body := c.Arguments
	if len(body) == 0 {
		body = json.RawMessage("[]")
	}
	req, err := http.NewRequestWithContext(r.Context(), "POST", c.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	return err
}
