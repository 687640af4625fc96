package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	discoveryclient "k8s.io/client-go/kubernetes/typed/discovery/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	gatewayversioned "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/typed/apis/v1"

	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/awspace"
	"github.com/owlstack/owl/internal/shift/shiftalb"
	"github.com/owlstack/owl/internal/shift/shiftgateway"
	"github.com/owlstack/owl/internal/shift/shiftroute53"
)

// route53Region is the region Route 53's global API is signed for.
const route53Region = "us-east-1"

// cloudPlanes builds the cloud data planes of specs (ALB, Route 53,
// Gateway API) for one controller process. Every AWS client of one API
// and account takes its tokens from the same awspace bucket, whichever
// shift it serves: AWS throttles per account, not per shift. Clients are
// made once per API, account, region and endpoint and shared.
type cloudPlanes struct {
	ctx   context.Context // the process's: SDK configuration loading runs in it
	pacer *awspace.Pacer
	retry awspace.Options
	// loadAWS loads the SDK configuration of a region: credentials from
	// the default chain (environment, shared files, web identity, ECS or
	// EC2 roles).
	loadAWS func(ctx context.Context, region string) (aws.Config, error)
	// kube returns the Gateway API and EndpointSlice clients of a
	// kubeconfig file ("": the in-cluster service account).
	kube func(kubeconfig string) (kubeClients, error)
	// probe checks the health URLs of Route 53 sides.
	probe *http.Client

	mu    sync.Mutex
	elb   map[string]*elbv2.Client
	r53   map[string]*route53.Client
	kubes map[string]kubeClients
}

// kubeClients are what the Gateway API data plane reads and writes.
type kubeClients struct {
	Routes gatewayclient.HTTPRoutesGetter
	Slices discoveryclient.EndpointSlicesGetter
}

// newCloudPlanes returns the builder of one process, pacing Route 53 and
// ELBv2 at the given rates (requests per second per account).
func newCloudPlanes(ctx context.Context, route53Rate, elbRate float64) *cloudPlanes {
	return &cloudPlanes{
		ctx: ctx,
		pacer: awspace.NewPacer(map[string]awspace.Rate{
			awspace.APIRoute53: {PerSecond: route53Rate, Burst: 1},
			awspace.APIELBv2:   {PerSecond: elbRate, Burst: 2},
		}),
		loadAWS: func(ctx context.Context, region string) (aws.Config, error) {
			return awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
		},
		kube:  kubeFromConfig,
		probe: &http.Client{Timeout: 5 * time.Second},
		elb:   map[string]*elbv2.Client{},
		r53:   map[string]*route53.Client{},
		kubes: map[string]kubeClients{},
	}
}

// kubeFromConfig builds the clients of a kubeconfig file, or of the
// in-cluster configuration when the path is empty.
func kubeFromConfig(kubeconfig string) (kubeClients, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig == "" {
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return kubeClients{}, fmt.Errorf("in-cluster Kubernetes configuration (set data_plane.gateway.kubeconfig outside a cluster): %w", err)
		}
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return kubeClients{}, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
		}
	}
	cfg.UserAgent = "owl-shift-controller"
	gw, err := gatewayversioned.NewForConfig(cfg)
	if err != nil {
		return kubeClients{}, fmt.Errorf("gateway API client: %w", err)
	}
	disc, err := discoveryclient.NewForConfig(cfg)
	if err != nil {
		return kubeClients{}, fmt.Errorf("discovery client: %w", err)
	}
	return kubeClients{Routes: gw.GatewayV1(), Slices: disc}, nil
}

// plane returns the data plane of a cloud spec.
func (c *cloudPlanes) plane(spec *shift.Spec) (shift.DataPlane, error) {
	switch spec.DataPlane.Kind {
	case shift.PlaneALB:
		return c.alb(spec)
	case shift.PlaneRoute53:
		return c.route53(spec)
	case shift.PlaneGateway:
		return c.gateway(spec)
	}
	return nil, fmt.Errorf("data plane %q is not a cloud data plane", spec.DataPlane.Kind)
}

// elbBucket is the pacing bucket of an ELBv2 API: the account in its
// region (ELB throttles per account and region); a test or LocalStack
// endpoint is an account of its own.
func elbBucket(account, region, endpoint string) string {
	k := account + "/" + region
	if endpoint != "" {
		k += "@" + endpoint
	}
	return k
}

// route53Bucket is the pacing bucket of Route 53, a global API throttled
// per account; without an account every shift on the endpoint shares one.
func route53Bucket(account, endpoint string) string {
	if endpoint == "" {
		endpoint = "aws"
	}
	return account + "@" + endpoint
}

// awsConfig loads the SDK configuration for region and points it at
// endpoint when one is given.
func (c *cloudPlanes) awsConfig(region, endpoint string) (aws.Config, error) {
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	cfg, err := c.loadAWS(ctx, region)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration for %s: %w", region, err)
	}
	if endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg, nil
}

func (c *cloudPlanes) alb(spec *shift.Spec) (shift.DataPlane, error) {
	a := spec.DataPlane.ALB
	account, region := spec.DataPlane.ALBAccountRegion()
	bucket := elbBucket(account, region, a.Endpoint)
	c.mu.Lock()
	defer c.mu.Unlock()
	client, ok := c.elb[bucket]
	if !ok {
		cfg, err := c.awsConfig(region, a.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("alb data plane: %w", err)
		}
		client = elbv2.NewFromConfig(c.pacer.Config(cfg, awspace.APIELBv2, bucket, c.retry))
		c.elb[bucket] = client
	}
	return shiftalb.New(client, shiftalb.Options{RuleARN: a.ListenerRuleARN, FromGroupARN: spec.From.Address, ToGroupARN: spec.To.Address})
}

func (c *cloudPlanes) route53(spec *shift.Spec) (shift.DataPlane, error) {
	r := spec.DataPlane.Route53
	bucket := route53Bucket(r.Account, r.Endpoint)
	c.mu.Lock()
	client, ok := c.r53[bucket]
	if !ok {
		cfg, err := c.awsConfig(route53Region, r.Endpoint)
		if err != nil {
			c.mu.Unlock()
			return nil, fmt.Errorf("route53 data plane: %w", err)
		}
		client = route53.NewFromConfig(c.pacer.Config(cfg, awspace.APIRoute53, bucket, c.retry))
		c.r53[bucket] = client
	}
	c.mu.Unlock()
	health := map[shift.Side]string{shift.From: r.Health.From, shift.To: r.Health.To}
	return shiftroute53.New(client, shiftroute53.Options{
		HostedZoneID: r.HostedZoneID, Name: r.RecordName, Type: r53types.RRType(r.RecordType),
		FromSetID: spec.From.Address, ToSetID: spec.To.Address, PollInterval: r.PollInterval,
		Capacity: func(ctx context.Context, sd shift.Side) (shift.Capacity, error) {
			return probeHealth(ctx, c.probe, health[sd])
		},
	})
}

func (c *cloudPlanes) gateway(spec *shift.Spec) (shift.DataPlane, error) {
	g := spec.DataPlane.Gateway
	c.mu.Lock()
	kc, ok := c.kubes[g.Kubeconfig]
	if !ok {
		var err error
		kc, err = c.kube(g.Kubeconfig)
		if err != nil {
			c.mu.Unlock()
			return nil, fmt.Errorf("gateway data plane: %w", err)
		}
		c.kubes[g.Kubeconfig] = kc
	}
	c.mu.Unlock()
	return shiftgateway.New(kc.Routes, kc.Slices, shiftgateway.Options{
		Namespace: g.Namespace, Route: g.Route, FromService: spec.From.Address, ToService: spec.To.Address, Rule: g.Rule,
	})
}

// probeHealth asks a side's health URL: one desired replica, ready when
// it answers 2xx; a side that does not answer at all is an error, which
// the controller shows as the reason it holds.
func probeHealth(ctx context.Context, client *http.Client, rawURL string) (shift.Capacity, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return shift.Capacity{}, fmt.Errorf("health URL %q: want http:// or https://", rawURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return shift.Capacity{}, fmt.Errorf("health probe %s: %w", u.Redacted(), err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return shift.Capacity{}, fmt.Errorf("health probe: %w", err) // *url.Error names the URL, redacted
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return shift.Capacity{Desired: 1}, nil
	}
	return shift.Capacity{Ready: 1, Desired: 1}, nil
}
