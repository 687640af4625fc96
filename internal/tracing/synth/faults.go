package synth

import (
	"fmt"
	"strconv"
	"strings"
)

// Fault kinds accepted by ParseFaults.
const (
	// FaultLatency adds ms milliseconds to every request svc serves:
	// latency:svc=cart,ms=300
	FaultLatency = "latency"
	// FaultErrors makes svc answer 500 to a share of its requests (rate
	// between 0 and 1); callers pass the failure up as 502:
	// errors:svc=payment,rate=0.2
	FaultErrors = "errors"
	// FaultSkew sets svc's clock ms milliseconds ahead (negative: behind),
	// so that its access logs disagree with everyone else's: skew:svc=user,ms=40
	FaultSkew = "skew"
	// FaultUncompressed makes svc answer without compression:
	// uncompressed:svc=course
	FaultUncompressed = "uncompressed"
	// FaultSlowDep makes svc's calls to its DynamoDB table take ms
	// milliseconds longer (a hot partition, throttling): the dependency is
	// the root cause and svc and its callers inherit the latency:
	// slowdep:svc=cart,ms=20
	FaultSlowDep = "slowdep"
	// FaultRetries makes svc fail a share of its requests (rate between 0
	// and 1) with a transient 503, and its callers retry, up to 3 attempts
	// with backoff: the extra calls load svc (it slows by the same share)
	// and the callers wait: retries:svc=payment,rate=0.3
	FaultRetries = "retries"
	// FaultTimeout makes svc take ms milliseconds longer, beyond its
	// callers' timeout (ms/2, the same on every hop, as is common), so
	// that its callers give up with 504 and fail, and theirs time out too:
	// timeout:svc=search,ms=200
	FaultTimeout = "timeout"
	// FaultSpikes makes a share of svc's requests (rate between 0 and 1)
	// take ms milliseconds longer (pauses, a noisy neighbour): background
	// noise rather than an incident: spikes:svc=ads,ms=30,rate=0.05
	FaultSpikes = "spikes"
)

// faultKinds lists the fault kinds ParseFaults accepts, for its errors.
const faultKinds = "latency, errors, skew, uncompressed, slowdep, retries, timeout, spikes"

// Fault is one injected misbehaviour of one service.
type Fault struct {
	Kind    string
	Service string
	MS      int
	Rate    float64
}

// String formats the fault as ParseFaults reads it.
func (f Fault) String() string {
	switch f.Kind {
	case FaultLatency, FaultSkew, FaultSlowDep, FaultTimeout:
		return fmt.Sprintf("%s:svc=%s,ms=%d", f.Kind, f.Service, f.MS)
	case FaultSpikes:
		return fmt.Sprintf("%s:svc=%s,ms=%d,rate=%s", f.Kind, f.Service, f.MS, strconv.FormatFloat(f.Rate, 'g', -1, 64))
	case FaultErrors, FaultRetries:
		return fmt.Sprintf("%s:svc=%s,rate=%s", f.Kind, f.Service, strconv.FormatFloat(f.Rate, 'g', -1, 64))
	}
	return f.Kind + ":svc=" + f.Service
}

// ParseFaults reads a ';'-separated list of faults, each KIND:key=value,...
// with the kinds and keys documented on the Fault* constants, e.g.
// "latency:svc=cart,ms=300;errors:svc=payment,rate=0.2".
func ParseFaults(spec string) ([]Fault, error) {
	var faults []Fault
	for i, item := range strings.Split(spec, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kind, args, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("fault %d %q: want KIND:key=value[,key=value...]", i+1, item)
		}
		f := Fault{Kind: strings.TrimSpace(kind)}
		need := map[string]bool{"svc": true}
		switch f.Kind {
		case FaultLatency, FaultSkew, FaultSlowDep, FaultTimeout:
			need["ms"] = true
		case FaultErrors, FaultRetries:
			need["rate"] = true
		case FaultSpikes:
			need["ms"], need["rate"] = true, true
		case FaultUncompressed:
		default:
			return nil, fmt.Errorf("fault %d %q: unknown kind %q; valid kinds: %s", i+1, item, f.Kind, faultKinds)
		}
		for _, kv := range strings.Split(args, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || !need[k] {
				return nil, fmt.Errorf("fault %d %q: unexpected %q; %s takes %s", i+1, item, kv, f.Kind, keys(need))
			}
			delete(need, k)
			var err error
			switch k {
			case "svc":
				f.Service = v
				if v == "" {
					err = fmt.Errorf("empty service")
				}
			case "ms":
				f.MS, err = strconv.Atoi(v)
				if err == nil && f.Kind != FaultSkew && f.MS < 0 {
					err = fmt.Errorf("negative latency")
				}
			case "rate":
				f.Rate, err = strconv.ParseFloat(v, 64)
				if err == nil && (f.Rate < 0 || f.Rate > 1) {
					err = fmt.Errorf("rate must be between 0 and 1")
				}
			}
			if err != nil {
				return nil, fmt.Errorf("fault %d %q: %s=%q: %w", i+1, item, k, v, err)
			}
		}
		if len(need) > 0 {
			return nil, fmt.Errorf("fault %d %q: missing %s", i+1, item, keys(need))
		}
		faults = append(faults, f)
	}
	return faults, nil
}

func keys(m map[string]bool) string {
	var out []string
	for _, k := range []string{"svc", "ms", "rate"} {
		if m[k] {
			out = append(out, k)
		}
	}
	return strings.Join(out, ", ")
}
