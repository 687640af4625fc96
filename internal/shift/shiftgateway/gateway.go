// Package shiftgateway shifts traffic with a Kubernetes Gateway API
// HTTPRoute: the two sides are backendRefs of the route's rules, weighted
// in basis points (from + to = 10000).
//
// The shift controller's fencing token is kept in an annotation of the
// route, so that two controllers, even in different clusters or
// processes, never both write the weights: a write with a token lower than
// the stored one is refused, and the resourceVersion check makes the
// read-check-write atomic.
package shiftgateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	discoveryclient "k8s.io/client-go/kubernetes/typed/discovery/v1"
	"k8s.io/client-go/util/retry"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/typed/apis/v1"

	"github.com/owlstack/owl/internal/shift"
)

// FenceAnnotation holds the highest fencing token that wrote the route's
// weights.
const FenceAnnotation = "shift.owl.dev/fence"

// Options name the route and its two backends.
type Options struct {
	// Namespace and Route name the HTTPRoute.
	Namespace, Route string
	// FromService and ToService are the backendRef names (Services) of the
	// two sides; every rule that references both is weighted.
	FromService, ToService string
	// Rule, when set, limits the weighting to the rule of that index,
	// which must reference both sides.
	Rule *int
}

// Route is the data plane of one shift on one HTTPRoute; it implements
// shift.DataPlane.
type Route struct {
	routes gatewayclient.HTTPRoutesGetter
	slices discoveryclient.EndpointSlicesGetter
	opts   Options
}

// New returns the data plane of the route in opts. routes is the Gateway
// API clientset's GatewayV1(); slices is a Kubernetes clientset's
// DiscoveryV1(), read for the sides' capacity.
func New(routes gatewayclient.HTTPRoutesGetter, slices discoveryclient.EndpointSlicesGetter, opts Options) (*Route, error) {
	switch {
	case opts.Namespace == "" || opts.Route == "":
		return nil, errors.New("gateway data plane: namespace and route name are required")
	case opts.FromService == "" || opts.ToService == "" || opts.FromService == opts.ToService:
		return nil, fmt.Errorf("gateway data plane %s/%s: want two different backend services, got %q and %q", opts.Namespace, opts.Route, opts.FromService, opts.ToService)
	case opts.Rule != nil && *opts.Rule < 0:
		return nil, fmt.Errorf("gateway data plane %s/%s: rule index %d: want >= 0", opts.Namespace, opts.Route, *opts.Rule)
	}
	return &Route{routes: routes, slices: slices, opts: opts}, nil
}

// Resolution is one basis point: weights are written in basis points.
func (r *Route) Resolution() int { return 1 }

// isService reports whether ref names the Service name in the route's
// namespace.
func (r *Route) isService(ref gatewayv1.HTTPBackendRef, name string) bool {
	b := ref.BackendObjectReference
	if string(b.Name) != name {
		return false
	}
	if b.Kind != nil && *b.Kind != "Service" || b.Group != nil && *b.Group != "" {
		return false
	}
	return b.Namespace == nil || string(*b.Namespace) == r.opts.Namespace
}

// ourRules returns the indexes of the rules that reference both sides.
func (r *Route) ourRules(rt *gatewayv1.HTTPRoute) []int {
	var out []int
	for i, rule := range rt.Spec.Rules {
		if r.opts.Rule != nil && *r.opts.Rule != i {
			continue
		}
		var from, to bool
		for _, ref := range rule.BackendRefs {
			from = from || r.isService(ref, r.opts.FromService)
			to = to || r.isService(ref, r.opts.ToService)
		}
		if from && to {
			out = append(out, i)
		}
	}
	return out
}

// noRule says that no rule to weight was found.
func (r *Route) noRule() string {
	if r.opts.Rule != nil {
		return fmt.Sprintf("rule %d does not exist or does not reference both backends %s and %s", *r.opts.Rule, r.opts.FromService, r.opts.ToService)
	}
	return fmt.Sprintf("no rule references both backends %s and %s", r.opts.FromService, r.opts.ToService)
}

func (r *Route) name() string { return r.opts.Namespace + "/" + r.opts.Route }

// StoredFence reads the fencing token stored on a route (0 when none).
func StoredFence(rt *gatewayv1.HTTPRoute) (uint64, error) {
	v, ok := rt.Annotations[FenceAnnotation]
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("annotation %s=%q: want a non-negative integer", FenceAnnotation, v)
	}
	return n, nil
}

// SetWeights writes the weights of split into every rule that references
// both sides, with fence, in one update of the route. A fence lower than
// the stored one is refused with shift.ErrStaleFence.
func (r *Route) SetWeights(ctx context.Context, split shift.Split, fence uint64) error {
	if err := split.Validate(); err != nil {
		return fmt.Errorf("gateway set weights: %w", err)
	}
	client := r.routes.HTTPRoutes(r.opts.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		rt, err := client.Get(ctx, r.opts.Route, metav1.GetOptions{})
		if err != nil {
			return err
		}
		stored, err := StoredFence(rt)
		if err != nil {
			return err
		}
		if fence < stored {
			return fmt.Errorf("fence %d, route holds %d: %w", fence, stored, shift.ErrStaleFence)
		}
		rules := r.ourRules(rt)
		if len(rules) == 0 {
			return errors.New(r.noRule())
		}
		from, to := int32(split.FromBP()), int32(split.ToBP)
		changed := fence != stored
		for _, i := range rules {
			refs := rt.Spec.Rules[i].BackendRefs
			for j := range refs {
				var w int32
				switch {
				case r.isService(refs[j], r.opts.FromService):
					w = from
				case r.isService(refs[j], r.opts.ToService):
					w = to
				default:
					continue
				}
				if refs[j].Weight == nil || *refs[j].Weight != w {
					refs[j].Weight = &w
					changed = true
				}
			}
		}
		if !changed {
			return nil
		}
		if rt.Annotations == nil {
			rt.Annotations = map[string]string{}
		}
		rt.Annotations[FenceAnnotation] = strconv.FormatUint(fence, 10)
		_, err = client.Update(ctx, rt, metav1.UpdateOptions{FieldManager: "owl-shift"})
		return err
	})
	if err != nil {
		return fmt.Errorf("gateway set weights %s on %s: %w", split, r.name(), err)
	}
	return nil
}

// ReadWeights reads the split of the first rule that references both
// sides; rules that disagree are an error, as the traffic is then split
// some other way.
func (r *Route) ReadWeights(ctx context.Context) (shift.Split, error) {
	rt, err := r.routes.HTTPRoutes(r.opts.Namespace).Get(ctx, r.opts.Route, metav1.GetOptions{})
	if err != nil {
		return shift.Split{}, fmt.Errorf("gateway read weights of %s: %w", r.name(), err)
	}
	rules := r.ourRules(rt)
	if len(rules) == 0 {
		return shift.Split{}, fmt.Errorf("gateway read weights of %s: %s", r.name(), r.noRule())
	}
	var out shift.Split
	for n, i := range rules {
		var from, to int64
		for _, ref := range rt.Spec.Rules[i].BackendRefs {
			w := int64(1) // the Gateway API default weight
			if ref.Weight != nil {
				w = int64(*ref.Weight)
			}
			switch {
			case r.isService(ref, r.opts.FromService):
				from += w
			case r.isService(ref, r.opts.ToService):
				to += w
			}
		}
		if from+to == 0 {
			return shift.Split{}, fmt.Errorf("gateway read weights of %s: rule %d weighs both sides 0", r.name(), i)
		}
		s := shift.Split{ToBP: int((to*shift.FullBP + (from+to)/2) / (from + to))}
		if n > 0 && s != out {
			return shift.Split{}, fmt.Errorf("gateway read weights of %s: rule %d splits %s, rule %d %s", r.name(), rules[0], out, i, s)
		}
		out = s
	}
	return out, nil
}

// Capacity counts a side's endpoints from its Service's EndpointSlices:
// Ready those ready, Desired those not terminating.
func (r *Route) Capacity(ctx context.Context, sd shift.Side) (shift.Capacity, error) {
	svc := r.opts.FromService
	switch sd {
	case shift.From:
	case shift.To:
		svc = r.opts.ToService
	default:
		return shift.Capacity{}, fmt.Errorf("gateway capacity of side %q: want from or to", sd)
	}
	list, err := r.slices.EndpointSlices(r.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return shift.Capacity{}, nil
		}
		return shift.Capacity{}, fmt.Errorf("gateway capacity of %s (service %s/%s): %w", sd, r.opts.Namespace, svc, err)
	}
	var c shift.Capacity
	for _, es := range list.Items {
		for _, ep := range es.Endpoints {
			cond := ep.Conditions
			if cond.Terminating != nil && *cond.Terminating {
				continue
			}
			c.Desired++
			if cond.Ready == nil || *cond.Ready {
				c.Ready++
			}
		}
	}
	return c, nil
}
