package migrate

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gatewayPlugin is the Argo Rollouts traffic router for Gateway API.
const gatewayPlugin = "argoproj-labs/gatewayAPI"

// rolloutStrategy chooses the service's strategy: its owl.dev/strategy tag
// or label, else blue-green for an ECS CODE_DEPLOY (blue/green) service,
// else the mapping's.
func (c *converter) rolloutStrategy(o map[string]string) string {
	if v, ok := o[TagStrategy]; ok {
		for _, s := range strategies {
			if v == s {
				c.mapped("tags["+TagStrategy+"]", "rollout strategy "+v)
				return v
			}
		}
		c.notMapped("tags["+TagStrategy+"]", fmt.Sprintf("%q is not a strategy (want rolling, canary or blue-green): the mapping's %s is used", v, c.m.Strategy))
		return c.m.Strategy
	}
	if ctl := c.svc.DeploymentController; ctl != nil && ctl.Type == "CODE_DEPLOY" {
		c.mapped("deploymentController", "CODE_DEPLOY blue/green → Argo Rollouts blue-green (a preview Service, promotion by hand or by owl shift)")
		return StrategyBlueGreen
	}
	return c.m.Strategy
}

// rollout turns the Deployment into an Argo Rollouts Rollout with the same
// pods, and returns the extra Services the strategy needs. svc and route
// may be nil (a service without ports or without a gateway route).
func (c *converter) rollout(dep *appsv1.Deployment, strategy string, meta func(string) metav1.ObjectMeta, svc *corev1.Service, route *gatewayv1.HTTPRoute, namespace string) (*Rollout, []object) {
	r := &Rollout{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout"},
		ObjectMeta: dep.ObjectMeta,
		Spec: RolloutSpec{
			Replicas:                dep.Spec.Replicas,
			Selector:                dep.Spec.Selector,
			Template:                dep.Spec.Template,
			ProgressDeadlineSeconds: dep.Spec.ProgressDeadlineSeconds,
		},
	}
	if r.Spec.ProgressDeadlineSeconds != nil {
		// ECS's circuit breaker rolls back; Rollouts aborts only when asked.
		r.Spec.ProgressDeadlineAbort = true
	}
	var extra []object
	copySvc := func(name string) *corev1.Service {
		s := svc.DeepCopy()
		s.ObjectMeta = meta(name)
		return s
	}
	switch strategy {
	case StrategyCanary:
		cs := &CanaryStrategy{Steps: c.canarySteps()}
		if ru := dep.Spec.Strategy.RollingUpdate; ru != nil {
			cs.MaxSurge, cs.MaxUnavailable = ru.MaxSurge, ru.MaxUnavailable
		}
		switch {
		case svc != nil && route != nil:
			cs.StableService, cs.CanaryService = svc.Name, svc.Name+"-canary"
			extra = append(extra, object{"service-canary.yaml", copySvc(cs.CanaryService)})
			cs.TrafficRouting = &RolloutTraffic{Plugins: map[string]GatewayAPIPlugin{gatewayPlugin: {HTTPRoute: route.Name, Namespace: namespace}}}
			addCanaryBackend(route, cs.CanaryService)
			c.mapped("strategy", fmt.Sprintf("canary: an Argo Rollouts Rollout that re-weights HTTPRoute %s between Services %s and %s (%s plugin) at %v%%", route.Name, cs.StableService, cs.CanaryService, gatewayPlugin, c.m.Canary.Weights))
		default:
			c.approx("strategy", fmt.Sprintf("canary without a gateway route: Argo Rollouts approximates the weights %v%% by the share of canary pods", c.m.Canary.Weights))
		}
		r.Spec.Strategy.Canary = cs
	case StrategyBlueGreen:
		if svc == nil {
			c.notMapped("strategy", "blue-green needs a Service to switch and this service has no port mappings: it stays a rolling Deployment")
			return nil, nil
		}
		no := false
		delay := int32(30)
		bg := &BlueGreenStrategy{ActiveService: svc.Name, PreviewService: svc.Name + "-preview", AutoPromotionEnabled: &no, ScaleDownDelaySeconds: &delay}
		extra = append(extra, object{"service-preview.yaml", copySvc(bg.PreviewService)})
		r.Spec.Strategy.BlueGreen = bg
		c.mapped("strategy", "blue-green: an Argo Rollouts Rollout; the new version comes up behind Service "+bg.PreviewService+" and Service "+bg.ActiveService+" switches on promotion (kubectl argo rollouts promote, or owl shift for a weighted move)")
	}
	return r, extra
}

// canarySteps are the mapping's weights, each followed by its pause.
func (c *converter) canarySteps() []CanaryStep {
	var steps []CanaryStep
	for _, w := range c.m.Canary.Weights {
		// "manual" and "0s" pause until promoted: an empty pause.
		pause := &RolloutPause{}
		if d, err := time.ParseDuration(c.m.Canary.Pause); err == nil && d > 0 {
			pause.Duration = fmtDuration(d)
		}
		steps = append(steps, CanaryStep{SetWeight: &w}, CanaryStep{Pause: pause})
	}
	return steps
}

// fmtDuration writes d as Argo Rollouts reads it: whole seconds, minutes or
// hours with their unit ("90s", "5m", "1h").
func fmtDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", (d+time.Second-1)/time.Second)
}

// addCanaryBackend adds the canary Service beside the stable one in every
// rule of the route, at weight 0: the Rollouts plugin moves the weights.
func addCanaryBackend(route *gatewayv1.HTTPRoute, canary string) {
	for i := range route.Spec.Rules {
		rule := &route.Spec.Rules[i]
		if len(rule.BackendRefs) == 0 {
			continue
		}
		stable := rule.BackendRefs[0]
		hundred, zero := int32(100), int32(0)
		stable.Weight = &hundred
		c := stable
		c.Name = gatewayv1.ObjectName(canary)
		c.Weight = &zero
		rule.BackendRefs = []gatewayv1.HTTPBackendRef{stable, c}
	}
}

// podIdentity is the EKS Pod Identity association of the service in one
// cell, or nil when the service gets no AWS identity that way.
func (s *service) podIdentity(cell Cell) *PodIdentityAssociation {
	if s.identityRole == "" {
		return nil
	}
	return &PodIdentityAssociation{
		TypeMeta: metav1.TypeMeta{APIVersion: "eks.services.k8s.aws/v1alpha1", Kind: "PodIdentityAssociation"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      s.identitySA,
			Namespace: s.namespace,
			Labels:    map[string]string{LabelService: s.name, LabelTeam: s.team, LabelManaged: "owl"},
		},
		Spec: PodIdentityAssociationSpec{ClusterName: cell.Cluster, Namespace: s.namespace, ServiceAccount: s.identitySA, RoleARN: s.identityRole},
	}
}
