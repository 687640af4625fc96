package tracectx

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendTimeMatchesAppendFormat(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000Z07:00"
	paris := time.FixedZone("CET", 3600)
	for _, tm := range []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 6007008, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, paris),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 1000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	} {
		if got, want := string(appendTime(nil, tm)), tm.UTC().Format(layout); got != want {
			t.Errorf("%v: got %s, want %s", tm, got, want)
		}
	}
}

// hmacHex is the documented keyed hash, computed the plain way.
func hmacHex(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// TestHasherCacheGivesTheSameHashes hashes values once, twice and many
// times (so that they are answered from the cache), from several
// goroutines, with more distinct values than the cache holds; every answer
// must be the HMAC of its input.
func TestHasherCacheGivesTheSameHashes(t *testing.T) {
	h := NewHasher(testKey)
	long := strings.Repeat("x", maxCached+1)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 3 * cacheSlots {
				v := fmt.Sprintf("user-%d", (i*7+g)%(2*cacheSlots))
				if got, want := h.Sum(v), hmacHex(testKey, v); got != want {
					t.Errorf("Sum(%q) = %s, want %s", v, got, want)
					return
				}
				q := fmt.Sprintf("page=%d", i%50)
				if got, want := h.Fingerprint("GET", "/items", q, nil), hmacHex(testKey, "GET\x00/items\x00"+q+"\x00"); got != want {
					t.Errorf("Fingerprint(%q) = %s, want %s", q, got, want)
					return
				}
			}
			if got, want := h.Sum(long), hmacHex(testKey, long); got != want {
				t.Errorf("long value: %s, want %s", got, want)
			}
		})
	}
	wg.Wait()
	// Sum and Fingerprint share the cache: the same bytes, the same hash.
	if a, b := h.Sum("GET\x00/\x00\x00"), h.Fingerprint("GET", "/", "", nil); a != b {
		t.Errorf("Sum and Fingerprint of the same bytes differ: %s %s", a, b)
	}
}

func TestHasherCacheKeepsNoUniqueValues(t *testing.T) {
	h := NewHasher(testKey)
	h.Sum("seen-once")
	i := 0
	for ; i < cacheSlots; i++ {
		if h.slots[i].Load() != nil {
			break
		}
	}
	if i != cacheSlots {
		t.Fatalf("a value hashed once was cached")
	}
	h.Sum("seen-twice")
	h.Sum("seen-twice")
	found := false
	for i := range cacheSlots {
		if c := h.slots[i].Load(); c != nil && c.in == "seen-twice" {
			found = true
		}
	}
	if !found {
		t.Fatalf("a value hashed twice was not cached")
	}
}

type ctxProbe struct{}

// TestHandlerContextKeepsParentValuesAndCancellation checks the request
// context the middleware builds: the state is found, the parent's values
// and cancellation come through, and contexts derived from it work.
func TestHandlerContextKeepsParentValuesAndCancellation(t *testing.T) {
	tr, err := New(Options{Service: "svc", HashKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxProbe{}, "from-parent"))
	var root, probe string
	var canceled bool
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		root = RootFrom(r.Context())
		probe, _ = r.Context().Value(ctxProbe{}).(string)
		child, stop := context.WithTimeout(r.Context(), time.Hour)
		defer stop()
		cancel()
		<-child.Done()
		canceled = child.Err() == context.Canceled
	}))
	req := httptest.NewRequestWithContext(parent, "GET", "/", nil)
	req.Header.Set("X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if root != "1-67891233-abcdef012345678912345678" || probe != "from-parent" || !canceled {
		t.Errorf("root %q, parent value %q, cancellation seen %v", root, probe, canceled)
	}
}
