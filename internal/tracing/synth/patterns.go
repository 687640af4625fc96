package synth

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Pattern kinds accepted by ParsePatterns: call patterns the analyses of
// package findings should discover, as opposed to Faults, which are
// incidents.
const (
	// PatternRepeat makes svc call to (a service, or "dynamodb") n times
	// in a row with identical arguments in every request it serves (a
	// cache opportunity): repeat:svc=cart,to=user,n=3
	PatternRepeat = "repeat"
	// PatternNPlusOne makes svc call to n times in a row, one id at a time
	// (an N+1 query pattern): nplus1:svc=cart,to=user,n=8
	PatternNPlusOne = "nplus1"
	// PatternNetDelay adds ms milliseconds of network time between svc's
	// send and to's receive: netdelay:svc=cart,to=user,ms=20
	PatternNetDelay = "netdelay"
)

// Dynamo is the name PatternRepeat and PatternNPlusOne take for the
// simulated DynamoDB table, and the host its callers log as their peer.
const Dynamo = dynamo

// Pattern is one call pattern from one service to another.
type Pattern struct {
	Kind    string
	Service string
	To      string
	N       int
	MS      int
}

// String formats the pattern as ParsePatterns reads it.
func (p Pattern) String() string {
	if p.Kind == PatternNetDelay {
		return fmt.Sprintf("%s:svc=%s,to=%s,ms=%d", p.Kind, p.Service, p.To, p.MS)
	}
	return fmt.Sprintf("%s:svc=%s,to=%s,n=%d", p.Kind, p.Service, p.To, p.N)
}

// ParsePatterns reads a ';'-separated list of patterns, each
// KIND:svc=NAME,to=NAME,n=N (repeat, nplus1) or KIND:svc=NAME,to=NAME,ms=N
// (netdelay), as documented on the Pattern* constants.
func ParsePatterns(spec string) ([]Pattern, error) {
	var out []Pattern
	for i, item := range strings.Split(spec, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kind, args, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("pattern %d %q: want KIND:svc=NAME,to=NAME,n=N or ms=N", i+1, item)
		}
		p := Pattern{Kind: strings.TrimSpace(kind)}
		need := []string{"svc", "to"}
		switch p.Kind {
		case PatternRepeat, PatternNPlusOne:
			need = append(need, "n")
		case PatternNetDelay:
			need = append(need, "ms")
		default:
			return nil, fmt.Errorf("pattern %d %q: unknown kind %q; valid kinds: repeat, nplus1, netdelay", i+1, item, p.Kind)
		}
		for _, kv := range strings.Split(args, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			j := slices.Index(need, k)
			if !ok || j < 0 {
				return nil, fmt.Errorf("pattern %d %q: unexpected %q; %s takes %s", i+1, item, kv, p.Kind, strings.Join(need, ", "))
			}
			need = slices.Delete(need, j, j+1)
			var err error
			switch k {
			case "svc":
				p.Service = v
			case "to":
				p.To = v
			case "n":
				p.N, err = strconv.Atoi(v)
				if err == nil && (p.N < 2 || p.N > 1000) {
					err = fmt.Errorf("want 2 to 1000 calls")
				}
			case "ms":
				p.MS, err = strconv.Atoi(v)
				if err == nil && p.MS < 0 {
					err = fmt.Errorf("negative delay")
				}
			}
			if err == nil && v == "" {
				err = fmt.Errorf("empty")
			}
			if err != nil {
				return nil, fmt.Errorf("pattern %d %q: %s=%q: %w", i+1, item, k, v, err)
			}
		}
		if len(need) > 0 {
			return nil, fmt.Errorf("pattern %d %q: missing %s", i+1, item, strings.Join(need, ", "))
		}
		out = append(out, p)
	}
	return out, nil
}

// applyPatterns changes the calls of svcs: a pattern on an existing call
// changes it, otherwise it adds the call (downward only, so that the
// topology stays free of cycles).
func applyPatterns(svcs []*service, byName map[string]*service, patterns []Pattern) error {
	index := map[string]int{}
	for i, s := range svcs {
		index[s.name] = i
	}
	for _, p := range patterns {
		from, ok := index[p.Service]
		if !ok {
			return fmt.Errorf("synth: pattern %s names service %q; services: %s", p, p.Service, serviceList(svcs))
		}
		to := -1
		if p.To != "dynamodb" && p.To != Dynamo {
			if to, ok = index[p.To]; !ok {
				return fmt.Errorf("synth: pattern %s names service %q; services: %s (or dynamodb)", p, p.To, serviceList(svcs))
			}
			if to <= from {
				return fmt.Errorf("synth: pattern %s: %s may only call services after it (no cycles): %s", p, p.Service, serviceList(svcs[from+1:]))
			}
		}
		if p.Kind == PatternNetDelay && to < 0 {
			return fmt.Errorf("synth: pattern %s: netdelay needs a service that logs, not dynamodb", p)
		}
		s := byName[p.Service]
		k := slices.IndexFunc(s.calls, func(c call) bool { return c.to == to })
		if k < 0 {
			s.calls = append(s.calls, call{to: to, viaLB: to >= 0 && to%3 == 1})
			k = len(s.calls) - 1
		}
		c := &s.calls[k]
		switch p.Kind {
		case PatternRepeat:
			c.repeats, c.same = p.N, true
		case PatternNPlusOne:
			if to < 0 {
				return fmt.Errorf("synth: pattern %s: the simulated dynamodb calls are always identical; use repeat", p)
			}
			c.repeats, c.same = p.N, false
		case PatternNetDelay:
			c.delay += time.Duration(p.MS) * time.Millisecond
		}
	}
	return nil
}

func serviceList(svcs []*service) string {
	names := make([]string, len(svcs))
	for i, s := range svcs {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}
