package migrate

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/owlstack/owl/internal/migrate/ecs"
)

// Labels and tags owl reads and writes.
const (
	LabelService = "app.kubernetes.io/name"
	LabelTeam    = "owl.dev/team"
	LabelCell    = "owl.dev/cell"
	LabelManaged = "app.kubernetes.io/managed-by"
	// Tags or docker labels that override the conversion of one service.
	TagTeam      = "owl.dev/team"
	TagNamespace = "owl.dev/namespace"
	TagSkip      = "owl.dev/skip"
	TagStrategy  = "owl.dev/strategy"
)

// service is one converted service: its objects and its report.
type service struct {
	name, namespace, team string
	strategy              string
	base                  []object
	replicas              int32
	hasHPA                bool
	hasRoute              bool
	// workload is the kind that runs the pods: Deployment or Rollout.
	workload string
	// identitySA and identityRole are the service account and IAM role of
	// an EKS Pod Identity association (one per cell); empty without one.
	identitySA, identityRole string
	report                   *ServiceReport
}

// object is a generated object and the base file it goes to.
type object struct {
	file string
	obj  any
}

// converter converts one service; it collects findings as it goes.
type converter struct {
	m        *Mapping
	in       *ecs.Input
	svc      *ecs.Service
	td       *ecs.TaskDefinition
	name     string
	findings []Finding
}

func (c *converter) mapped(field, rule string) {
	c.findings = append(c.findings, Finding{Field: field, Status: Mapped, Rule: rule})
}

func (c *converter) approx(field, rule string) {
	c.findings = append(c.findings, Finding{Field: field, Status: Approximated, Rule: rule})
}

func (c *converter) notMapped(field, advice string) {
	c.findings = append(c.findings, Finding{Field: field, Status: NotMapped, Advice: advice})
}

// overrides are the owl.dev/* tags of the service and task definition and
// the docker labels of its containers; service tags win.
func overrides(svc *ecs.Service, td *ecs.TaskDefinition) map[string]string {
	o := map[string]string{}
	for _, c := range td.ContainerDefinitions {
		for k, v := range c.DockerLabels {
			if strings.HasPrefix(k, "owl.dev/") {
				o[k] = v
			}
		}
	}
	for _, tags := range [][]ecs.Tag{td.Tags, svc.Tags} {
		for _, t := range tags {
			if strings.HasPrefix(t.Key, "owl.dev/") || t.Key == "team" {
				o[t.Key] = t.Value
			}
		}
	}
	if _, ok := o[TagTeam]; !ok && o["team"] != "" {
		o[TagTeam] = o["team"]
	}
	return o
}

func convertService(m *Mapping, in *ecs.Input, svc *ecs.Service, td *ecs.TaskDefinition) *service {
	c := &converter{m: m, in: in, svc: svc, td: td, name: dnsLabel(svc.ServiceName)}
	o := overrides(svc, td)
	team := dnsLabel(o[TagTeam])
	if o[TagTeam] == "" {
		team = m.DefaultTeam
	} else {
		c.mapped("tags["+TagTeam+"]", "owner team → label "+LabelTeam)
	}
	ns := m.namespaceFor(c.name, team)
	if v := o[TagNamespace]; v != "" {
		ns = dnsLabel(v)
		c.mapped("tags["+TagNamespace+"]", "namespace override")
	}
	if c.name != svc.ServiceName {
		c.approx("serviceName", fmt.Sprintf("%q is not a DNS label; objects are named %q", svc.ServiceName, c.name))
	} else {
		c.mapped("serviceName", "object names and label "+LabelService)
	}
	s := &service{name: c.name, namespace: ns, team: team, strategy: c.rolloutStrategy(o)}
	labels := map[string]string{LabelService: c.name, LabelTeam: team, LabelManaged: "owl"}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Labels: maps.Clone(labels)}
	}

	sa := c.serviceAccount(meta)
	pod, ports := c.podSpec(sa.Name)
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta(c.name),
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelService: c.name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels)}, Spec: pod},
			Strategy: c.strategy(),
		},
	}
	if dc := svc.DeploymentConfiguration; dc != nil && dc.DeploymentCircuitBreaker != nil && dc.DeploymentCircuitBreaker.Enable {
		deadline := int32(600)
		dep.Spec.ProgressDeadlineSeconds = &deadline
	}
	hpa := c.hpa(meta)
	s.replicas = int32(svc.DesiredCount)
	if hpa == nil {
		dep.Spec.Replicas = &s.replicas
		c.mapped("desiredCount", "spec.replicas")
	} else {
		c.mapped("desiredCount", "left to the HorizontalPodAutoscaler (no spec.replicas, so Argo CD and the HPA do not fight)")
	}
	k8sSvc := c.k8sService(meta, ports)
	var route *gatewayv1.HTTPRoute
	if k8sSvc != nil {
		route = c.route(meta, k8sSvc)
	}
	workload, extra := object{"deployment.yaml", dep}, []object(nil)
	s.workload = "Deployment"
	if s.strategy != StrategyRolling {
		if ro, more := c.rollout(dep, s.strategy, meta, k8sSvc, route, ns); ro != nil {
			workload, extra = object{"rollout.yaml", ro}, more
			s.workload = "Rollout"
			if hpa != nil {
				hpa.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: c.name}
			}
		} else {
			s.strategy = StrategyRolling
		}
	}
	s.base = append(s.base, workload, object{"serviceaccount.yaml", sa})
	if k8sSvc != nil {
		s.base = append(s.base, object{"service.yaml", k8sSvc})
		s.base = append(s.base, extra...)
		if route != nil {
			s.base = append(s.base, object{"httproute.yaml", route})
			s.hasRoute = true
		}
	}
	if c.m.Identity == "pod-identity" && c.td.TaskRoleArn != "" {
		s.identitySA, s.identityRole = sa.Name, c.td.TaskRoleArn
	}
	if hpa != nil {
		s.base = append(s.base, object{"hpa.yaml", hpa})
		s.hasHPA = true
	}
	s.base = append(s.base, object{"pdb.yaml", c.pdb(meta)})
	for _, es := range c.externalSecrets(meta) {
		s.base = append(s.base, object{"externalsecret-" + string(es.source) + ".yaml", es.obj})
	}
	c.ignored()
	c.unknown()
	s.report = &ServiceReport{Service: c.name, Team: team, Namespace: ns, TaskDefinition: td.Key(), Findings: c.findings}
	return s
}

func (c *converter) serviceAccount(meta func(string) metav1.ObjectMeta) *corev1.ServiceAccount {
	name := c.name
	if sa, ok := c.m.Roles[c.td.TaskRoleArn]; ok && c.td.TaskRoleArn != "" {
		name = sa
	}
	sa := &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(name)}
	switch {
	case c.td.TaskRoleArn == "":
		c.mapped("taskRoleArn", "absent: service account without AWS identity")
	case c.m.Identity == "irsa":
		sa.Annotations = map[string]string{"eks.amazonaws.com/role-arn": c.td.TaskRoleArn}
		c.mapped("taskRoleArn", "IRSA: annotation eks.amazonaws.com/role-arn on service account "+name+"; add the cluster's OIDC provider to the role's trust policy")
	default:
		c.mapped("taskRoleArn", "EKS Pod Identity: a PodIdentityAssociation (AWS Controllers for Kubernetes) per cell gives service account "+name+" the role; the role's trust policy must allow pods.eks.amazonaws.com")
	}
	if c.td.ExecutionRoleArn != "" {
		c.approx("executionRoleArn", "its duties move: images are pulled with the node role, secrets are read by External Secrets with the secret store's role, logs go to the cluster's log agent")
	}
	return sa
}

func millicores(units int) int64 { return (int64(units)*1000 + 1023) / 1024 }

// containerKinds sorts the containers: run-to-completion init containers,
// native sidecars, and main containers.
func (c *converter) containerKinds() map[string]string {
	kinds := map[string]string{}
	for _, cd := range c.td.ContainerDefinitions {
		for _, d := range cd.DependsOn {
			switch d.Condition {
			case "COMPLETE", "SUCCESS":
				kinds[d.ContainerName] = "init"
			case "START", "HEALTHY":
				if kinds[d.ContainerName] == "" {
					kinds[d.ContainerName] = "sidecar"
				}
			}
		}
	}
	for _, cd := range c.td.ContainerDefinitions {
		if kinds[cd.Name] == "" {
			if cd.IsEssential() {
				kinds[cd.Name] = "main"
			} else {
				kinds[cd.Name] = "sidecar"
			}
		}
	}
	return kinds
}

func (c *converter) podSpec(saName string) (corev1.PodSpec, []corev1.ContainerPort) {
	td := c.td
	pod := corev1.PodSpec{ServiceAccountName: saName}
	kinds := c.containerKinds()
	healthy := map[string]bool{}
	for _, cd := range td.ContainerDefinitions {
		for _, d := range cd.DependsOn {
			if d.Condition == "HEALTHY" {
				healthy[d.ContainerName] = true
			}
		}
	}
	// Containers without CPU or memory share what the task has left.
	share := taskShare{cpu: td.CPUUnits, mem: td.MemoryMiB}
	for _, cd := range td.ContainerDefinitions {
		share.cpu -= cd.CPU
		if cd.CPU == 0 {
			share.noCPU++
		}
		switch {
		case cd.Memory != nil:
			share.mem -= *cd.Memory
		case cd.MemoryReservation != nil:
			share.mem -= *cd.MemoryReservation
		default:
			share.noMem++
		}
	}
	var ports []corev1.ContainerPort
	var inits, sidecars []corev1.Container
	var stop int
	for i := range td.ContainerDefinitions {
		cd := &td.ContainerDefinitions[i]
		f := "containerDefinitions[" + cd.Name + "]"
		k := c.container(cd, f, share, healthy[cd.Name])
		switch kinds[cd.Name] {
		case "init":
			c.approx(f+".essential", "a container others wait for with COMPLETE/SUCCESS → init container (Kubernetes needs exit code 0 for both)")
			inits = append(inits, k)
		case "sidecar":
			always := corev1.ContainerRestartPolicyAlways
			k.RestartPolicy = &always
			if cd.IsEssential() {
				c.mapped(f+".essential", "a container others wait for with START/HEALTHY → native sidecar (init container with restartPolicy Always), started before the main containers")
			} else {
				c.approx(f+".essential", "non-essential → native sidecar; Kubernetes restarts it when it exits, where ECS would leave it stopped")
			}
			sidecars = append(sidecars, k)
		default:
			c.mapped(f+".essential", "main container")
			pod.Containers = append(pod.Containers, k)
		}
		if len(cd.DependsOn) > 0 && kinds[cd.Name] == "main" {
			c.mapped(f+".dependsOn", "the containers it waits for start first, as init containers or native sidecars")
		} else if len(cd.DependsOn) > 0 {
			c.approx(f+".dependsOn", "init containers and sidecars start in definition order, init containers first")
		}
		ports = append(ports, k.Ports...)
		if cd.StopTimeout != nil {
			stop = max(stop, *cd.StopTimeout)
			c.mapped(f+".stopTimeout", "terminationGracePeriodSeconds (the longest stopTimeout of the task)")
		}
	}
	pod.InitContainers = append(inits, sidecars...)
	if stop > 0 {
		g := int64(stop)
		pod.TerminationGracePeriodSeconds = &g
	}
	c.placement(&pod)
	c.volumes(&pod)
	if td.NetworkMode != "" {
		if td.NetworkMode == "awsvpc" {
			c.mapped("networkMode", "awsvpc: one IP per pod, as on Kubernetes with the VPC CNI")
		} else {
			c.approx("networkMode", td.NetworkMode+": pods always get their own IP; host ports are not used")
		}
	}
	if td.PidMode != "" || td.IpcMode != "" {
		c.notMapped("pidMode/ipcMode", "shared host PID or IPC namespaces need hostPID/hostIPC, which owl does not generate; use shareProcessNamespace or drop the need")
	}
	if td.EphemeralStorage != nil {
		c.approx("ephemeralStorage", fmt.Sprintf("%d GiB → ephemeral-storage limit on the main container", td.EphemeralStorage.SizeInGiB))
		if len(pod.Containers) > 0 {
			q := resource.MustParse(strconv.Itoa(td.EphemeralStorage.SizeInGiB) + "Gi")
			if pod.Containers[0].Resources.Limits == nil {
				pod.Containers[0].Resources.Limits = corev1.ResourceList{}
			}
			pod.Containers[0].Resources.Limits[corev1.ResourceEphemeralStorage] = q
		}
	}
	return pod, ports
}

// taskShare is the task-level CPU and memory left after the containers
// that set their own, and how many containers share it.
type taskShare struct {
	cpu, mem     int
	noCPU, noMem int
}

func (c *converter) container(cd *ecs.ContainerDefinition, f string, share taskShare, healthyDep bool) corev1.Container {
	td := c.td
	image, rewritten := c.m.rewriteImage(cd.Image)
	if rewritten {
		c.mapped(f+".image", "image with the mapping's registry rewrite")
	} else {
		c.mapped(f+".image", "image")
	}
	k := corev1.Container{Name: dnsLabel(cd.Name), Image: image, Command: cd.EntryPoint, Args: cd.Command, WorkingDir: cd.WorkingDirectory}
	if k.Name != cd.Name {
		c.approx(f+".name", fmt.Sprintf("container %q is named %q", cd.Name, k.Name))
	}
	if len(cd.EntryPoint) > 0 {
		c.mapped(f+".entryPoint", "command")
	}
	if len(cd.Command) > 0 {
		c.mapped(f+".command", "args")
	}
	// Resources.
	req, lim := corev1.ResourceList{}, corev1.ResourceList{}
	switch {
	case cd.CPU > 0:
		req[corev1.ResourceCPU] = *resource.NewMilliQuantity(millicores(cd.CPU), resource.DecimalSI)
		c.mapped(f+".cpu", "CPU units → requests.cpu in millicores (units × 1000 / 1024, rounded up); no CPU limit, as ECS shares unused CPU")
	case share.cpu > 0:
		req[corev1.ResourceCPU] = *resource.NewMilliQuantity(millicores(share.cpu/share.noCPU), resource.DecimalSI)
		c.approx(f+".cpu", fmt.Sprintf("no container CPU: the %d task CPU units the other containers leave, shared by the %d containers without CPU", share.cpu, share.noCPU))
	default:
		c.notMapped(f+".cpu", "no CPU in the container and none left in the task: set requests.cpu, or the pod is scheduled without a CPU reservation")
	}
	switch {
	case cd.Memory != nil:
		lim[corev1.ResourceMemory] = mebibytes(*cd.Memory)
		if cd.MemoryReservation != nil {
			req[corev1.ResourceMemory] = mebibytes(*cd.MemoryReservation)
			c.mapped(f+".memoryReservation", "requests.memory")
		} else {
			req[corev1.ResourceMemory] = mebibytes(*cd.Memory)
		}
		c.mapped(f+".memory", "limits.memory (hard limit; also requests.memory without memoryReservation)")
	case cd.MemoryReservation != nil:
		req[corev1.ResourceMemory] = mebibytes(*cd.MemoryReservation)
		if td.MemoryMiB > 0 {
			lim[corev1.ResourceMemory] = mebibytes(td.MemoryMiB)
			c.approx(f+".memoryReservation", "soft limit → requests.memory; the task memory becomes limits.memory")
		} else {
			c.mapped(f+".memoryReservation", "soft limit → requests.memory, no memory limit")
		}
	case share.mem > 0:
		m := mebibytes(share.mem / share.noMem)
		req[corev1.ResourceMemory], lim[corev1.ResourceMemory] = m, m
		c.approx(f+".memory", fmt.Sprintf("no container memory: the %d task MiB the other containers leave, shared by the %d containers without memory, as requests and limits", share.mem, share.noMem))
	default:
		c.notMapped(f+".memory", "no memory in the container and none left in the task: set requests.memory and limits.memory")
	}
	if len(req) > 0 {
		k.Resources.Requests = req
	}
	if len(lim) > 0 {
		k.Resources.Limits = lim
	}
	// Ports.
	for i, pm := range cd.PortMappings {
		pf := fmt.Sprintf("%s.portMappings[%d]", f, i)
		if pm.ContainerPortRange != "" {
			c.notMapped(pf+".containerPortRange", "Kubernetes has no port ranges: list the ports one by one")
			continue
		}
		proto := corev1.ProtocolTCP
		if strings.EqualFold(pm.Protocol, "udp") {
			proto = corev1.ProtocolUDP
		}
		k.Ports = append(k.Ports, corev1.ContainerPort{Name: portName(pm), ContainerPort: int32(pm.ContainerPort), Protocol: proto})
		c.mapped(pf, "containerPort "+strconv.Itoa(pm.ContainerPort))
		if pm.HostPort != 0 && pm.HostPort != pm.ContainerPort {
			c.notMapped(pf+".hostPort", "pods do not publish host ports: clients use the Service port")
		}
		if pm.AppProtocol != "" {
			c.mapped(pf+".appProtocol", "Service port appProtocol")
		}
	}
	// Environment and secrets.
	for _, e := range cd.Environment {
		k.Env = append(k.Env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	if len(cd.Environment) > 0 {
		c.mapped(f+".environment", "env")
	}
	for i, s := range cd.Secrets {
		k.Env = append(k.Env, corev1.EnvVar{Name: s.Name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: c.name + "-" + string(s.Ref.Source)},
			Key:                  secretKey(cd.Name, s.Name),
		}}})
		c.mapped(fmt.Sprintf("%s.secrets[%d]", f, i), "env from a Secret written by an ExternalSecret ("+string(s.Ref.Source)+")")
	}
	if cd.EnvironmentFiles != nil {
		c.notMapped(f+".environmentFiles", "S3 environment files: move the variables into environment, or into SSM and secrets")
	}
	c.probes(cd, f, &k, healthyDep)
	c.securityContext(cd, f, &k)
	for _, m := range cd.MountPoints {
		k.VolumeMounts = append(k.VolumeMounts, corev1.VolumeMount{Name: dnsLabel(m.SourceVolume), MountPath: m.ContainerPath, ReadOnly: m.ReadOnly})
	}
	if cd.Interactive || cd.PseudoTerminal {
		k.Stdin, k.TTY = cd.Interactive, cd.PseudoTerminal
		c.mapped(f+".interactive/pseudoTerminal", "stdin / tty")
	}
	notMapped := []struct {
		set    bool
		field  string
		advice string
	}{
		{len(cd.Links) > 0, "links", "containers of a pod share localhost: connect to localhost:PORT instead of the link name"},
		{cd.Hostname != "", "hostname", "a pod's hostname is its name; set spec.hostname by hand if something depends on it"},
		{len(cd.DNSServers) > 0 || len(cd.DNSSearchDomains) > 0, "dnsServers/dnsSearchDomains", "use the pod's dnsConfig, or CoreDNS forwarding for the domains"},
		{len(cd.DockerSecurityOptions) > 0, "dockerSecurityOptions", "use securityContext seLinuxOptions, appArmorProfile or seccompProfile"},
		{cd.Ulimits != nil, "ulimits", "set limits in the node's container runtime, or in the image's entrypoint"},
		{cd.LinuxParameters != nil, "linuxParameters", "capabilities go to securityContext.capabilities, devices and tmpfs need manual review"},
		{cd.LogConfiguration != nil, "logConfiguration", "containers log to stdout; the cluster's log agent (Fluent Bit, CloudWatch agent) ships the logs"},
		{cd.FirelensConfiguration != nil, "firelensConfiguration", "run Fluent Bit as a DaemonSet instead of a FireLens sidecar"},
		{cd.RepositoryCredentials != nil, "repositoryCredentials", "create an image pull secret and add it to the service account's imagePullSecrets"},
		{cd.VolumesFrom != nil, "volumesFrom", "mount the same volumes explicitly in each container"},
		{cd.SystemControls != nil, "systemControls", "use the pod securityContext.sysctls (safe sysctls only)"},
		{cd.ResourceRequirements != nil, "resourceRequirements", "GPUs: request nvidia.com/gpu with the NVIDIA device plugin"},
		{cd.DisableNetworking, "disableNetworking", "pods always have networking; use a NetworkPolicy to deny traffic"},
		{cd.StartTimeout > 0, "startTimeout", "dependency start timeouts have no Kubernetes field; startup probes bound the start instead"},
		{cd.RestartPolicy != nil, "restartPolicy", "Kubernetes restarts containers in place by itself"},
		{cd.CredentialSpecs != nil, "credentialSpecs", "gMSA needs Windows nodes and the gMSA webhook"},
	}
	for _, n := range notMapped {
		if n.set {
			c.notMapped(f+"."+n.field, n.advice)
		}
	}
	if len(cd.ExtraHosts) > 0 {
		c.mapped(f+".extraHosts", "pod hostAliases")
	}
	var plain []string
	for l := range cd.DockerLabels {
		if !strings.HasPrefix(l, "owl.dev/") {
			plain = append(plain, l)
		}
	}
	if len(plain) > 0 {
		c.approx(f+".dockerLabels", "not copied: Kubernetes labels are on the pod, not the container; owl.dev/* labels override the conversion")
	}
	return k
}

func mebibytes(mib int) resource.Quantity {
	return *resource.NewQuantity(int64(mib)*1024*1024, resource.BinarySI)
}

// secretKey is the key of an ECS secret in the Secret owl generates.
func secretKey(container, name string) string { return container + "." + name }

// portName is the name of a container port: its ECS name when valid, else
// PROTOCOL-PORT.
func portName(pm ecs.PortMapping) string {
	if n := pm.Name; n != "" && len(n) <= 15 && isDNSLabel(n) && strings.ContainsFunc(n, func(r rune) bool { return r >= 'a' && r <= 'z' }) && !strings.Contains(n, "--") {
		return n
	}
	proto := "tcp"
	if strings.EqualFold(pm.Protocol, "udp") {
		proto = "udp"
	}
	return proto + "-" + strconv.Itoa(pm.ContainerPort)
}

func (c *converter) probes(cd *ecs.ContainerDefinition, f string, k *corev1.Container, healthyDep bool) {
	var tg *ecs.TargetGroup
	for _, lb := range c.svc.LoadBalancers {
		if lb.ContainerName == cd.Name {
			tg = c.targetGroup(lb.TargetGroupArn)
			if tg != nil {
				k.ReadinessProbe = tgProbe(tg, lb.ContainerPort)
				c.mapped("targetGroup["+tg.TargetGroupName+"].healthCheck", "readinessProbe: path, port, interval, timeout, thresholds")
			} else if lb.TargetGroupArn != "" {
				c.notMapped("loadBalancers["+cd.Name+"].targetGroupArn", "no describe-target-groups answer for "+lb.TargetGroupArn+" in the input: add it to derive a readiness probe")
			}
		}
	}
	h := cd.HealthCheck
	if h == nil || h.Command[0] == "NONE" {
		if tg != nil {
			k.LivenessProbe = tgProbe(tg, k.ReadinessProbe.HTTPGet.Port.IntValue())
			if tg.HealthCheckProtocol == "TCP" {
				k.LivenessProbe = tgProbe(tg, k.ReadinessProbe.TCPSocket.Port.IntValue())
			}
			c.approx(f+".healthCheck", "none: ECS replaces tasks that fail the load balancer health check, so the target group check is also the livenessProbe")
		}
		return
	}
	var handler corev1.ProbeHandler
	if h.Command[0] == "CMD-SHELL" {
		handler.Exec = &corev1.ExecAction{Command: []string{"/bin/sh", "-c", strings.Join(h.Command[1:], " ")}}
	} else {
		handler.Exec = &corev1.ExecAction{Command: h.Command[1:]}
	}
	interval, timeout, retries, start := 30, 5, 3, 0
	for _, p := range []struct {
		v   *int
		dst *int
	}{{h.Interval, &interval}, {h.Timeout, &timeout}, {h.Retries, &retries}, {h.StartPeriod, &start}} {
		if p.v != nil {
			*p.dst = *p.v
		}
	}
	probe := func(failures int) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: handler, PeriodSeconds: int32(interval), TimeoutSeconds: int32(timeout), FailureThreshold: int32(failures)}
	}
	k.LivenessProbe = probe(retries)
	c.mapped(f+".healthCheck", "livenessProbe (exec; CMD-SHELL runs /bin/sh -c): interval → periodSeconds, timeout → timeoutSeconds, retries → failureThreshold")
	if k.ReadinessProbe == nil {
		k.ReadinessProbe = probe(retries)
		c.approx(f+".healthCheck", "also the readinessProbe: on ECS an unhealthy container is taken out of service by replacing its task")
	}
	switch {
	case start > 0:
		k.StartupProbe = probe((start+interval-1)/interval + retries)
		c.mapped(f+".healthCheck.startPeriod", "startupProbe with failureThreshold ceil(startPeriod / interval) + retries")
	case healthyDep:
		k.StartupProbe = probe(retries)
		c.mapped(f+".healthCheck", "startupProbe too: containers that wait for it with HEALTHY start after it passes")
	}
}

func (c *converter) targetGroup(arn string) *ecs.TargetGroup {
	for _, g := range c.in.TargetGroups {
		if g.TargetGroupArn == arn {
			return g
		}
	}
	return nil
}

func tgProbe(tg *ecs.TargetGroup, trafficPort int) *corev1.Probe {
	port := trafficPort
	if n, err := strconv.Atoi(tg.HealthCheckPort); err == nil {
		port = n
	}
	p := &corev1.Probe{
		PeriodSeconds:    int32(cmp0(tg.HealthCheckIntervalSeconds, 30)),
		TimeoutSeconds:   int32(cmp0(tg.HealthCheckTimeoutSeconds, 5)),
		SuccessThreshold: int32(cmp0(tg.HealthyThresholdCount, 5)),
		FailureThreshold: int32(cmp0(tg.UnhealthyThresholdCount, 2)),
	}
	switch tg.HealthCheckProtocol {
	case "TCP":
		p.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt(port)}
	default:
		scheme := corev1.URISchemeHTTP
		if tg.HealthCheckProtocol == "HTTPS" {
			scheme = corev1.URISchemeHTTPS
		}
		p.HTTPGet = &corev1.HTTPGetAction{Path: cmpS(tg.HealthCheckPath, "/"), Port: intstr.FromInt(port), Scheme: scheme}
	}
	return p
}

func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func cmpS(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (c *converter) securityContext(cd *ecs.ContainerDefinition, f string, k *corev1.Container) {
	sc := &corev1.SecurityContext{}
	set := false
	if cd.Privileged {
		c.notMapped(f+".privileged", "privileged pods are refused by the restricted Pod Security Standard: grant only the capabilities needed in securityContext.capabilities")
	}
	if cd.ReadonlyRootFilesystem {
		t := true
		sc.ReadOnlyRootFilesystem = &t
		set = true
		c.mapped(f+".readonlyRootFilesystem", "securityContext.readOnlyRootFilesystem")
	}
	if cd.User != "" {
		u, g, hasGroup := strings.Cut(cd.User, ":")
		uid, err1 := strconv.ParseInt(u, 10, 64)
		gid, err2 := strconv.ParseInt(g, 10, 64)
		switch {
		case err1 == nil && (!hasGroup || err2 == nil):
			sc.RunAsUser = &uid
			if hasGroup {
				sc.RunAsGroup = &gid
			}
			set = true
			c.mapped(f+".user", "securityContext.runAsUser / runAsGroup")
		default:
			c.notMapped(f+".user", "user "+cd.User+" is a name: Kubernetes needs numeric ids in runAsUser / runAsGroup")
		}
	}
	if set {
		k.SecurityContext = sc
	}
}

func (c *converter) placement(pod *corev1.PodSpec) {
	var required []corev1.NodeSelectorRequirement
	if rp := c.td.RuntimePlatform; rp != nil {
		switch rp.CPUArchitecture {
		case "ARM64":
			required = append(required, corev1.NodeSelectorRequirement{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}})
			c.mapped("runtimePlatform.cpuArchitecture", "node affinity kubernetes.io/arch=arm64 (Graviton)")
		case "X86_64":
			required = append(required, corev1.NodeSelectorRequirement{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}})
			c.mapped("runtimePlatform.cpuArchitecture", "node affinity kubernetes.io/arch=amd64")
		case "":
		default:
			c.notMapped("runtimePlatform.cpuArchitecture", "unknown architecture "+rp.CPUArchitecture)
		}
		switch os := rp.OperatingSystemFamily; {
		case os == "" || os == "LINUX":
		case strings.HasPrefix(os, "WINDOWS"):
			pod.NodeSelector = map[string]string{"kubernetes.io/os": "windows"}
			c.approx("runtimePlatform.operatingSystemFamily", os+" → node selector kubernetes.io/os=windows; the Windows version is not selected")
		default:
			c.notMapped("runtimePlatform.operatingSystemFamily", "unknown operating system "+os)
		}
	}
	if c.td.RuntimePlatform == nil || c.td.RuntimePlatform.CPUArchitecture == "" {
		c.approx("runtimePlatform.cpuArchitecture", "absent: pods may land on arm64 or amd64 nodes; publish multi-architecture images, or set the architecture")
	}
	var spot, onDemand int
	for _, p := range c.svc.CapacityProviderStrategy {
		if p.CapacityProvider == "FARGATE_SPOT" || strings.Contains(strings.ToLower(p.CapacityProvider), "spot") {
			spot += p.Weight
		} else {
			onDemand += p.Weight
		}
	}
	var preferred []corev1.PreferredSchedulingTerm
	switch {
	case spot > 0 && onDemand == 0:
		required = append(required, corev1.NodeSelectorRequirement{Key: "karpenter.sh/capacity-type", Operator: corev1.NodeSelectorOpIn, Values: []string{"spot"}})
		c.mapped("capacityProviderStrategy", "only spot → node affinity karpenter.sh/capacity-type=spot (Karpenter)")
	case spot > 0:
		w := int32(max(1, min(100, 100*spot/(spot+onDemand))))
		preferred = append(preferred, corev1.PreferredSchedulingTerm{Weight: w, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "karpenter.sh/capacity-type", Operator: corev1.NodeSelectorOpIn, Values: []string{"spot"}}}}})
		c.approx("capacityProviderStrategy", fmt.Sprintf("spot weight %d of %d → preferred node affinity for spot with weight %d; base counts are not kept", spot, spot+onDemand, w))
	case onDemand > 0:
		c.mapped("capacityProviderStrategy", "on-demand capacity: Karpenter's default NodePool")
	}
	if c.svc.LaunchType != "" {
		c.mapped("launchType", c.svc.LaunchType+": pods run on Karpenter-provisioned nodes")
	}
	if len(required) > 0 || len(preferred) > 0 {
		pod.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: preferred}}
		if len(required) > 0 {
			pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: required}}}
		}
	}
	if c.td.PlacementConstraints != nil || c.svc.PlacementConstraints != nil || c.svc.PlacementStrategy != nil {
		c.notMapped("placementConstraints/placementStrategy", "use topologySpreadConstraints (spread) and node affinity (constraints) on the Deployment")
	}
}

func (c *converter) volumes(pod *corev1.PodSpec) {
	for _, cd := range c.td.ContainerDefinitions {
		for _, e := range cd.ExtraHosts {
			pod.HostAliases = append(pod.HostAliases, corev1.HostAlias{IP: e.IPAddress, Hostnames: []string{e.Hostname}})
		}
	}
	for i, v := range c.td.Volumes {
		f := fmt.Sprintf("volumes[%d]", i)
		vol := corev1.Volume{Name: dnsLabel(v.Name), VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
		switch {
		case v.Host != nil && v.Host.SourcePath != "":
			c.notMapped(f+".host.sourcePath", "host-path volumes tie pods to nodes and are refused by Pod Security: an emptyDir stands in; use a PersistentVolume or a ConfigMap for the data at "+v.Host.SourcePath)
		case v.EFSVolumeConfiguration != nil:
			c.notMapped(f+".efsVolumeConfiguration", "an emptyDir stands in: create a PersistentVolume with the EFS CSI driver and mount its claim")
		case v.FSxWindowsFileServerVolumeConfiguration != nil:
			c.notMapped(f+".fsxWindowsFileServerVolumeConfiguration", "an emptyDir stands in: use the FSx CSI driver")
		case v.DockerVolumeConfiguration != nil:
			c.approx(f+".dockerVolumeConfiguration", "Docker volume → emptyDir; shared or persistent Docker volumes need a PersistentVolumeClaim")
		case v.ConfiguredAtLaunch:
			c.notMapped(f+".configuredAtLaunch", "EBS volumes configured at launch: use a StatefulSet with volumeClaimTemplates")
		default:
			c.mapped(f, "task-scoped volume → emptyDir")
		}
		pod.Volumes = append(pod.Volumes, vol)
	}
}

func (c *converter) strategy() appsv1.DeploymentStrategy {
	maxPct, minPct := 200, 100
	if dc := c.svc.DeploymentConfiguration; dc != nil {
		if dc.MaximumPercent != nil {
			maxPct = *dc.MaximumPercent
		}
		if dc.MinimumHealthyPercent != nil {
			minPct = *dc.MinimumHealthyPercent
		}
		if cb := dc.DeploymentCircuitBreaker; cb != nil && cb.Enable {
			c.approx("deploymentConfiguration.deploymentCircuitBreaker", "progressDeadlineSeconds 600 marks a stuck rollout failed (Argo CD shows it Degraded); rolling back is Argo CD's rollback or owl shift")
		}
		if dc.Alarms != nil {
			c.notMapped("deploymentConfiguration.alarms", "use owl shift's analysis or Argo Rollouts analysis to roll back on metrics")
		}
	}
	if ctl := c.svc.DeploymentController; ctl != nil && ctl.Type != "" && ctl.Type != "ECS" && ctl.Type != "CODE_DEPLOY" {
		c.approx("deploymentController", ctl.Type+" deployments → rolling update; for blue/green use owl shift or Argo Rollouts")
	}
	surge := intstr.FromString(strconv.Itoa(maxPct-100) + "%")
	unavail := intstr.FromString(strconv.Itoa(100-minPct) + "%")
	if maxPct == 100 && minPct == 100 {
		surge = intstr.FromInt32(1)
		c.approx("deploymentConfiguration", "maximumPercent 100 and minimumHealthyPercent 100 cannot both hold on Kubernetes: maxSurge 1")
	} else {
		c.mapped("deploymentConfiguration", fmt.Sprintf("maximumPercent %d → maxSurge %s, minimumHealthyPercent %d → maxUnavailable %s", maxPct, surge.String(), minPct, unavail.String()))
	}
	return appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavail}}
}

func (c *converter) k8sService(meta func(string) metav1.ObjectMeta, ports []corev1.ContainerPort) *corev1.Service {
	if len(ports) == 0 {
		return nil
	}
	policy := corev1.IPFamilyPolicyPreferDualStack
	families := []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
	if c.m.IPFamilies == "ipv6" {
		policy = corev1.IPFamilyPolicySingleStack
		families = families[:1]
	}
	s := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(c.name),
		Spec: corev1.ServiceSpec{
			Type:           corev1.ServiceTypeClusterIP,
			Selector:       map[string]string{LabelService: c.name},
			IPFamilyPolicy: &policy,
			IPFamilies:     families,
		},
	}
	for _, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: p.Name, Port: p.ContainerPort, TargetPort: intstr.FromString(p.Name), Protocol: p.Protocol})
	}
	for _, cfg := range c.serviceConnect() {
		for _, sc := range cfg.Services {
			name := cmpS(sc.DiscoveryName, sc.PortName)
			for _, a := range sc.ClientAliases {
				if a.DNSName != "" {
					name = a.DNSName
				}
			}
			if dnsLabel(name) == c.name {
				c.mapped("serviceConnectConfiguration.services["+sc.PortName+"]", "Service Connect name "+name+" → Service "+c.name+" ("+c.name+"."+"NAMESPACE.svc.cluster.local); the short name resolves within the namespace")
			} else {
				c.approx("serviceConnectConfiguration.services["+sc.PortName+"]", "Service Connect name "+name+" → Service DNS name "+c.name+".NAMESPACE.svc.cluster.local: update the clients that use "+name)
			}
		}
	}
	return s
}

func (c *converter) serviceConnect() []*ecs.ServiceConnectConfig {
	var out []*ecs.ServiceConnectConfig
	if c.svc.ServiceConnectConfiguration != nil {
		out = append(out, c.svc.ServiceConnectConfiguration)
	}
	for _, d := range c.svc.Deployments {
		if d.ServiceConnectConfiguration != nil && d.ServiceConnectConfiguration.Enabled && (d.Status == "PRIMARY" || len(out) == 0) {
			out = append(out, d.ServiceConnectConfiguration)
			break
		}
	}
	return out
}

func (c *converter) route(meta func(string) metav1.ObjectMeta, s *corev1.Service) *gatewayv1.HTTPRoute {
	if len(c.svc.LoadBalancers) == 0 {
		return nil
	}
	if c.m.Gateway == nil {
		c.notMapped("loadBalancers", "no gateway in the mapping file: add gateway.name to route load balancer traffic through Gateway API")
		return nil
	}
	lb := c.svc.LoadBalancers[0]
	port := gatewayv1.PortNumber(lb.ContainerPort)
	parent := gatewayv1.ParentReference{Name: gatewayv1.ObjectName(c.m.Gateway.Name)}
	if c.m.Gateway.Namespace != "" {
		ns := gatewayv1.Namespace(c.m.Gateway.Namespace)
		parent.Namespace = &ns
	}
	if c.m.Gateway.SectionName != "" {
		sn := gatewayv1.SectionName(c.m.Gateway.SectionName)
		parent.SectionName = &sn
	}
	r := &gatewayv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
		ObjectMeta: meta(c.name),
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parent}},
			Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(c.name + "." + c.m.Domain)},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(s.Name), Port: &port},
			}}}}},
		},
	}
	c.mapped("loadBalancers[0]", "HTTPRoute on gateway "+c.m.Gateway.Name+" to the Service port "+strconv.Itoa(lb.ContainerPort)+"; hostname per cell")
	if len(c.svc.LoadBalancers) > 1 {
		c.notMapped("loadBalancers[1:]", "only the first load balancer becomes an HTTPRoute: add rules for the others by hand")
	}
	if c.svc.HealthCheckGracePeriodSeconds > 0 {
		c.approx("healthCheckGracePeriodSeconds", "covered by the startupProbe, which holds liveness and readiness checks until the container has started")
	}
	return r
}

// resourceID is the Application Auto Scaling id of the service.
func (c *converter) resourceID() string {
	cluster := c.svc.ClusterArn
	if i := strings.LastIndex(cluster, "/"); i >= 0 {
		cluster = cluster[i+1:]
	}
	return "service/" + cluster + "/" + c.svc.ServiceName
}

func (c *converter) matchesResource(id string) bool {
	if c.svc.ClusterArn == "" {
		return strings.HasPrefix(id, "service/") && path.Base(id) == c.svc.ServiceName
	}
	return id == c.resourceID()
}

func (c *converter) hpa(meta func(string) metav1.ObjectMeta) *autoscalingv2.HorizontalPodAutoscaler {
	var target *ecs.ScalableTarget
	for _, t := range c.in.ScalableTargets {
		if t.ServiceNamespace == "ecs" && t.ScalableDimension == "ecs:service:DesiredCount" && c.matchesResource(t.ResourceID) {
			target = t
		}
	}
	if target == nil {
		return nil
	}
	var metrics []autoscalingv2.MetricSpec
	var behavior autoscalingv2.HorizontalPodAutoscalerBehavior
	var scaleIn int32
	disableIn := false
	for _, p := range c.in.ScalingPolicies {
		if p.ServiceNamespace != "ecs" || !c.matchesResource(p.ResourceID) {
			continue
		}
		f := "scalingPolicies[" + p.PolicyName + "]"
		tt := p.TargetTrackingScalingConfiguration
		if p.PolicyType != "TargetTrackingScaling" || tt == nil {
			c.notMapped(f, p.PolicyType+": step scaling has no HPA equivalent; use a target-tracking metric, or KEDA with the CloudWatch alarm's metric")
			continue
		}
		if tt.PredefinedMetricSpecification == nil {
			c.notMapped(f, "customized CloudWatch metric: use KEDA's aws-cloudwatch scaler or a Prometheus adapter external metric")
			continue
		}
		util := int32(tt.TargetValue + 0.5)
		switch mt := tt.PredefinedMetricSpecification.PredefinedMetricType; mt {
		case "ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization":
			name := corev1.ResourceCPU
			if strings.Contains(mt, "Memory") {
				name = corev1.ResourceMemory
			}
			metrics = append(metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: name, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util},
			}})
			c.mapped(f, fmt.Sprintf("%s %.0f%% → HPA %s averageUtilization %d (of requests, as ECS measures against reservations)", mt, tt.TargetValue, name, util))
		case "ALBRequestCountPerTarget":
			c.notMapped(f, "ALBRequestCountPerTarget has no native HPA metric: use KEDA (prometheus scaler on the gateway's request rate) or an external metrics adapter")
		default:
			c.notMapped(f, "predefined metric "+mt+" has no HPA equivalent")
		}
		if tt.ScaleInCooldown != nil {
			scaleIn = max(scaleIn, int32(*tt.ScaleInCooldown))
		}
		if tt.ScaleOutCooldown != nil {
			c.approx(f+".ScaleOutCooldown", "HPA scales up without a cooldown by default")
		}
		disableIn = disableIn || tt.DisableScaleIn
	}
	if len(metrics) == 0 {
		c.notMapped("scalableTarget", fmt.Sprintf("min %d / max %d without a mappable policy: no HPA; replicas stay at desiredCount", target.MinCapacity, target.MaxCapacity))
		return nil
	}
	minR := int32(target.MinCapacity)
	if minR < 1 {
		minR = 1
		c.approx("scalableTarget.MinCapacity", "0 → minReplicas 1 (scale to zero needs KEDA)")
	} else {
		c.mapped("scalableTarget.MinCapacity", "minReplicas")
	}
	c.mapped("scalableTarget.MaxCapacity", "maxReplicas")
	if scaleIn > 0 {
		behavior.ScaleDown = &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &scaleIn}
		c.approx("ScaleInCooldown", "scaleDown.stabilizationWindowSeconds: the HPA waits for the window's highest recommendation instead of a cooldown after each step")
	}
	if disableIn {
		disabled := autoscalingv2.DisabledPolicySelect
		if behavior.ScaleDown == nil {
			behavior.ScaleDown = &autoscalingv2.HPAScalingRules{}
		}
		behavior.ScaleDown.SelectPolicy = &disabled
		c.mapped("DisableScaleIn", "scaleDown.selectPolicy Disabled")
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: meta(c.name),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: c.name},
			MinReplicas:    &minR,
			MaxReplicas:    max(int32(target.MaxCapacity), minR),
			Metrics:        metrics,
		},
	}
	if behavior.ScaleDown != nil {
		h.Spec.Behavior = &behavior
	}
	return h
}

func (c *converter) pdb(meta func(string) metav1.ObjectMeta) *policyv1.PodDisruptionBudget {
	minPct := 100
	if dc := c.svc.DeploymentConfiguration; dc != nil && dc.MinimumHealthyPercent != nil {
		minPct = *dc.MinimumHealthyPercent
	}
	unavail := intstr.FromString(strconv.Itoa(100-minPct) + "%")
	rule := fmt.Sprintf("minimumHealthyPercent %d → PodDisruptionBudget maxUnavailable %s", minPct, unavail.String())
	if minPct >= 100 {
		unavail = intstr.FromInt32(1)
		rule = "minimumHealthyPercent 100 → PodDisruptionBudget maxUnavailable 1, so node drains are not blocked"
	}
	c.approx("deploymentConfiguration.minimumHealthyPercent", rule)
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: meta(c.name),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &unavail,
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{LabelService: c.name}},
		},
	}
}

type externalSecret struct {
	source ecs.SecretSource
	obj    *ExternalSecret
}

func (c *converter) externalSecrets(meta func(string) metav1.ObjectMeta) []externalSecret {
	var out []externalSecret
	for _, src := range []ecs.SecretSource{ecs.SSM, ecs.SecretsManager} {
		store := c.m.SecretStores.SSM
		if src == ecs.SecretsManager {
			store = c.m.SecretStores.SecretsManager
		}
		var data []ExternalSecretData
		for _, cd := range c.td.ContainerDefinitions {
			for _, s := range cd.Secrets {
				if s.Ref.Source != src {
					continue
				}
				ref := RemoteRef{Key: s.Ref.Key, Property: s.Ref.JSONKey, Version: s.Ref.VersionStage}
				if s.Ref.VersionID != "" {
					ref.Version = "uuid/" + s.Ref.VersionID
				}
				data = append(data, ExternalSecretData{SecretKey: secretKey(cd.Name, s.Name), RemoteRef: ref})
			}
		}
		if len(data) == 0 {
			continue
		}
		name := c.name + "-" + string(src)
		out = append(out, externalSecret{src, &ExternalSecret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "external-secrets.io/v1", Kind: "ExternalSecret"},
			ObjectMeta: meta(name),
			Spec: ExternalSecretSpec{
				RefreshInterval: "1h",
				SecretStoreRef:  SecretStoreRef{Name: store, Kind: "ClusterSecretStore"},
				Target:          ExternalSecretTarget{Name: name, CreationPolicy: "Owner"},
				Data:            data,
			},
		}})
	}
	return out
}

// ignored reports task and service fields that only describe ECS's own
// bookkeeping, so that every field read has a line in the report.
func (c *converter) ignored() {
	if c.svc.EnableExecuteCommand {
		c.approx("enableExecuteCommand", "use kubectl exec, governed by RBAC")
	}
	if c.svc.ServiceRegistries != nil {
		c.approx("serviceRegistries", "Cloud Map registration → the Service's cluster DNS name; use ExternalDNS for names outside the cluster")
	}
	if c.svc.NetworkConfiguration != nil {
		c.approx("networkConfiguration", "subnets and security groups belong to the cluster; use NetworkPolicies, or Security Groups for Pods")
	}
	if c.svc.SchedulingStrategy == "DAEMON" {
		c.notMapped("schedulingStrategy", "DAEMON services are DaemonSets: change the Deployment's kind and drop replicas, strategy and the HPA")
	}
	if c.svc.PropagateTags != "" || c.svc.EnableECSManagedTags {
		c.approx("propagateTags", "tags become labels on the generated objects (team, service)")
	}
	if c.td.ProxyConfiguration != nil {
		c.notMapped("proxyConfiguration", "App Mesh proxies: use a service mesh's sidecar injection")
	}
	if c.td.InferenceAccelerators != nil {
		c.notMapped("inferenceAccelerators", "Elastic Inference is retired: use GPU or Inferentia nodes")
	}
}

// unknown reports the fields owl does not know.
func (c *converter) unknown() {
	var us []ecs.Unknown
	us = append(us, c.in.Unknown[c.td.Key()]...)
	us = append(us, c.in.Unknown[c.svc.ServiceName]...)
	slices.SortFunc(us, func(a, b ecs.Unknown) int { return strings.Compare(a.Path, b.Path) })
	for _, u := range us {
		c.findings = append(c.findings, Finding{Field: u.Path, Status: NotMapped, Unknown: true,
			Advice: "a field owl does not know (in " + path.Base(u.File) + "): check whether it needs a Kubernetes equivalent"})
	}
}
