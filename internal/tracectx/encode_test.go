package tracectx

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dchest/siphash"
)

func TestAppendTimeMatchesAppendFormat(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000Z07:00"
	paris := time.FixedZone("CET", 3600)
	for _, tm := range []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 6007008, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, paris),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 1000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 59, 0, 0, paris), // 9999 in UTC
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	} {
		if got, want := string(appendTime(nil, tm)), tm.UTC().Format(layout); got != want {
			t.Errorf("%v: got %s, want %s", tm, got, want)
		}
	}
}

// sipHex is the documented keyed hash, computed the plain way: SipHash-2-4
// through its hash.Hash interface, keyed with HKDF-SHA256 of the key.
func sipHex(t *testing.T, key []byte, msg string) string {
	t.Helper()
	k, err := hkdf.Key(sha256.New, key, nil, "owl access-log hash: SipHash-2-4 key", 16)
	if err != nil {
		t.Fatal(err)
	}
	m := siphash.New(k)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// TestHasherIsTheDocumentedHash checks Sum and Fingerprint against the
// documented construction, for values shorter and longer than the stack
// scratch space, from several goroutines.
func TestHasherIsTheDocumentedHash(t *testing.T) {
	h := NewHasher(testKey)
	long := strings.Repeat("x", scratch+1)
	body := sha256.Sum256([]byte(`{"items":[1,2,3]}`))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				v := fmt.Sprintf("user-%d", i*7+g)
				if got, want := h.Sum(v), sipHex(t, testKey, v); got != want {
					t.Errorf("Sum(%q) = %s, want %s", v, got, want)
					return
				}
				q := fmt.Sprintf("page=%d", i%50)
				if got, want := h.Fingerprint("GET", "/items", q, nil), sipHex(t, testKey, "GET\x00/items\x00"+q+"\x00"); got != want {
					t.Errorf("Fingerprint(%q) = %s, want %s", q, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, want := h.Sum(long), sipHex(t, testKey, long); got != want {
		t.Errorf("long value: %s, want %s", got, want)
	}
	if got, want := h.Fingerprint("POST", "/items", long, body[:]), sipHex(t, testKey, "POST\x00/items\x00"+long+"\x00"+string(body[:])); got != want {
		t.Errorf("long fingerprint: %s, want %s", got, want)
	}
}

// TestHasherDependsOnEveryKeyByte checks that the hashes change with the
// key, also with a change in a key's byte past the first 16: a deployment
// that chose a longer key gets the security of all of it.
func TestHasherDependsOnEveryKeyByte(t *testing.T) {
	short := []byte("0123456789abcdef")
	long := []byte("0123456789abcdef0123456789abcdef")
	sums := map[string]string{}
	for _, key := range [][]byte{short, long, append(long[:31:31], 'g')} {
		got := NewHasher(key).Sum("user-123")
		if len(got) != 16 || !isHex(got, false) {
			t.Fatalf("Sum = %q, want 16 lower-case hex digits", got)
		}
		if prev, ok := sums[got]; ok {
			t.Errorf("keys %q and %q give the same hash %s", prev, key, got)
		}
		sums[got] = string(key)
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

// TestAppendHexMatchesEncodingHex checks the four-bytes-at-a-time encoder
// on every byte value at every position and on every length up to 17.
func TestAppendHexMatchesEncodingHex(t *testing.T) {
	for n := range 18 {
		for pos := range n {
			for c := range 256 {
				src := make([]byte, n)
				for i := range src {
					src[i] = byte(37*i + 11)
				}
				src[pos] = byte(c)
				if got, want := string(appendHex([]byte("x"), src)), "x"+hex.EncodeToString(src); got != want {
					t.Fatalf("appendHex(% x) = %s, want %s", src, got, want)
				}
			}
		}
	}
}

// TestDecodeHexMatchesEncodingHex checks the decoder, eight digits at a
// time and the rest one by one, on every byte value at every position of
// ids of several lengths, in both cases.
func TestDecodeHexMatchesEncodingHex(t *testing.T) {
	for _, id := range []string{"0a", "09afAF3c", "09afAF3c1d", "09afAF3c1d2e3f4a5b6C", "fF"} {
		for pos := range len(id) {
			for c := range 256 {
				in := []byte(id)
				in[pos] = byte(c)
				want, err := hex.DecodeString(string(in))
				for _, upper := range []bool{false, true} {
					ok := err == nil && (upper || strings.ToLower(string(in)) == string(in))
					got := make([]byte, len(in)/2)
					if gotOK := decodeHex(got, string(in), upper); gotOK != ok || ok && string(got) != string(want) {
						t.Fatalf("decodeHex(%q, upper=%v) = % x %v, want % x %v", in, upper, got, gotOK, want, ok)
					}
					// isHex on odd lengths too: in[0] is a digit.
					if pos > 0 && isHex(string(in[1:]), upper) != ok {
						t.Errorf("isHex(%q, upper=%v) = %v, want %v", in[1:], upper, !ok, ok)
					}
				}
			}
		}
	}
	if decodeHex(make([]byte, 2), "abc", true) || isHex("", true) {
		t.Error("a wrong length was accepted")
	}
}
