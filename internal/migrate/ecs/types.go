// Package ecs reads Amazon ECS task definitions, services, Application Auto
// Scaling policies and load balancer target groups in the JSON shapes the AWS
// API returns them (describe-task-definition, describe-services,
// describe-scalable-targets, describe-scaling-policies,
// describe-target-groups).
//
// Reading is strict about types and values: every problem is reported with
// the file, the JSON path and the reason. Fields that owl does not know (AWS
// adds new ones) are not errors; they are listed so that a caller can report
// them.
package ecs

// TaskDefinition is an ECS task definition.
type TaskDefinition struct {
	TaskDefinitionArn       string                `json:"taskDefinitionArn"`
	Family                  string                `json:"family"`
	Revision                int                   `json:"revision"`
	ContainerDefinitions    []ContainerDefinition `json:"containerDefinitions"`
	TaskRoleArn             string                `json:"taskRoleArn"`
	ExecutionRoleArn        string                `json:"executionRoleArn"`
	NetworkMode             string                `json:"networkMode"`
	Volumes                 []Volume              `json:"volumes"`
	Status                  string                `json:"status"`
	RequiresAttributes      any                   `json:"requiresAttributes"`
	PlacementConstraints    any                   `json:"placementConstraints"`
	Compatibilities         []string              `json:"compatibilities"`
	RuntimePlatform         *RuntimePlatform      `json:"runtimePlatform"`
	RequiresCompatibilities []string              `json:"requiresCompatibilities"`
	CPU                     string                `json:"cpu"`
	Memory                  string                `json:"memory"`
	InferenceAccelerators   any                   `json:"inferenceAccelerators"`
	PidMode                 string                `json:"pidMode"`
	IpcMode                 string                `json:"ipcMode"`
	ProxyConfiguration      any                   `json:"proxyConfiguration"`
	RegisteredAt            any                   `json:"registeredAt"`
	DeregisteredAt          any                   `json:"deregisteredAt"`
	RegisteredBy            string                `json:"registeredBy"`
	EphemeralStorage        *EphemeralStorage     `json:"ephemeralStorage"`
	EnableFaultInjection    bool                  `json:"enableFaultInjection"`

	// Tags come from the "tags" member next to "taskDefinition" in the
	// describe-task-definition answer.
	Tags []Tag `json:"-"`
	// CPUUnits and MemoryMiB are CPU and Memory parsed; zero when absent.
	CPUUnits  int `json:"-"`
	MemoryMiB int `json:"-"`
}

// RuntimePlatform is the operating system and CPU architecture of a task.
type RuntimePlatform struct {
	CPUArchitecture       string `json:"cpuArchitecture"`
	OperatingSystemFamily string `json:"operatingSystemFamily"`
}

// EphemeralStorage is the task's ephemeral storage size.
type EphemeralStorage struct {
	SizeInGiB int `json:"sizeInGiB"`
}

// ContainerDefinition is one container of a task definition.
type ContainerDefinition struct {
	Name                   string            `json:"name"`
	Image                  string            `json:"image"`
	RepositoryCredentials  any               `json:"repositoryCredentials"`
	CPU                    int               `json:"cpu"`
	Memory                 *int              `json:"memory"`
	MemoryReservation      *int              `json:"memoryReservation"`
	Links                  []string          `json:"links"`
	PortMappings           []PortMapping     `json:"portMappings"`
	Essential              *bool             `json:"essential"`
	RestartPolicy          any               `json:"restartPolicy"`
	EntryPoint             []string          `json:"entryPoint"`
	Command                []string          `json:"command"`
	Environment            []KeyValue        `json:"environment"`
	EnvironmentFiles       any               `json:"environmentFiles"`
	MountPoints            []MountPoint      `json:"mountPoints"`
	VolumesFrom            any               `json:"volumesFrom"`
	LinuxParameters        any               `json:"linuxParameters"`
	Secrets                []Secret          `json:"secrets"`
	DependsOn              []Dependency      `json:"dependsOn"`
	StartTimeout           int               `json:"startTimeout"`
	StopTimeout            *int              `json:"stopTimeout"`
	VersionConsistency     string            `json:"versionConsistency"`
	Hostname               string            `json:"hostname"`
	User                   string            `json:"user"`
	WorkingDirectory       string            `json:"workingDirectory"`
	DisableNetworking      bool              `json:"disableNetworking"`
	Privileged             bool              `json:"privileged"`
	ReadonlyRootFilesystem bool              `json:"readonlyRootFilesystem"`
	DNSServers             []string          `json:"dnsServers"`
	DNSSearchDomains       []string          `json:"dnsSearchDomains"`
	ExtraHosts             []HostEntry       `json:"extraHosts"`
	DockerSecurityOptions  []string          `json:"dockerSecurityOptions"`
	Interactive            bool              `json:"interactive"`
	PseudoTerminal         bool              `json:"pseudoTerminal"`
	DockerLabels           map[string]string `json:"dockerLabels"`
	Ulimits                any               `json:"ulimits"`
	LogConfiguration       any               `json:"logConfiguration"`
	HealthCheck            *HealthCheck      `json:"healthCheck"`
	SystemControls         any               `json:"systemControls"`
	ResourceRequirements   any               `json:"resourceRequirements"`
	FirelensConfiguration  any               `json:"firelensConfiguration"`
	CredentialSpecs        any               `json:"credentialSpecs"`
}

// IsEssential reports whether the task stops when the container stops; ECS
// treats an absent "essential" as true.
func (c *ContainerDefinition) IsEssential() bool { return c.Essential == nil || *c.Essential }

// PortMapping is a container port.
type PortMapping struct {
	ContainerPort      int    `json:"containerPort"`
	HostPort           int    `json:"hostPort"`
	Protocol           string `json:"protocol"`
	Name               string `json:"name"`
	AppProtocol        string `json:"appProtocol"`
	ContainerPortRange string `json:"containerPortRange"`
}

// KeyValue is a name and value pair, such as an environment variable.
type KeyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Tag is an AWS resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// MountPoint mounts a task volume into a container.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly"`
}

// Secret is an environment variable read from SSM Parameter Store or
// Secrets Manager; Ref is ValueFrom parsed.
type Secret struct {
	Name      string    `json:"name"`
	ValueFrom string    `json:"valueFrom"`
	Ref       SecretRef `json:"-"`
}

// Dependency is a container's start dependency on another container.
type Dependency struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

// HostEntry is an /etc/hosts entry.
type HostEntry struct {
	Hostname  string `json:"hostname"`
	IPAddress string `json:"ipAddress"`
}

// HealthCheck is a container health check; durations are in seconds.
type HealthCheck struct {
	Command     []string `json:"command"`
	Interval    *int     `json:"interval"`
	Timeout     *int     `json:"timeout"`
	Retries     *int     `json:"retries"`
	StartPeriod *int     `json:"startPeriod"`
}

// Volume is a task volume.
type Volume struct {
	Name                                    string      `json:"name"`
	Host                                    *HostVolume `json:"host"`
	DockerVolumeConfiguration               any         `json:"dockerVolumeConfiguration"`
	EFSVolumeConfiguration                  any         `json:"efsVolumeConfiguration"`
	FSxWindowsFileServerVolumeConfiguration any         `json:"fsxWindowsFileServerVolumeConfiguration"`
	ConfiguredAtLaunch                      bool        `json:"configuredAtLaunch"`
}

// HostVolume is a bind mount; without a source path Docker manages it.
type HostVolume struct {
	SourcePath string `json:"sourcePath"`
}

// Service is an ECS service as describe-services returns it.
type Service struct {
	ServiceArn                    string                   `json:"serviceArn"`
	ServiceName                   string                   `json:"serviceName"`
	ClusterArn                    string                   `json:"clusterArn"`
	LoadBalancers                 []LoadBalancer           `json:"loadBalancers"`
	ServiceRegistries             any                      `json:"serviceRegistries"`
	Status                        string                   `json:"status"`
	DesiredCount                  int                      `json:"desiredCount"`
	RunningCount                  int                      `json:"runningCount"`
	PendingCount                  int                      `json:"pendingCount"`
	LaunchType                    string                   `json:"launchType"`
	CapacityProviderStrategy      []CapacityProviderItem   `json:"capacityProviderStrategy"`
	PlatformVersion               string                   `json:"platformVersion"`
	PlatformFamily                string                   `json:"platformFamily"`
	TaskDefinition                string                   `json:"taskDefinition"`
	DeploymentConfiguration       *DeploymentConfiguration `json:"deploymentConfiguration"`
	TaskSets                      any                      `json:"taskSets"`
	Deployments                   []Deployment             `json:"deployments"`
	RoleArn                       string                   `json:"roleArn"`
	Events                        any                      `json:"events"`
	CreatedAt                     any                      `json:"createdAt"`
	PlacementConstraints          any                      `json:"placementConstraints"`
	PlacementStrategy             any                      `json:"placementStrategy"`
	NetworkConfiguration          any                      `json:"networkConfiguration"`
	HealthCheckGracePeriodSeconds int                      `json:"healthCheckGracePeriodSeconds"`
	SchedulingStrategy            string                   `json:"schedulingStrategy"`
	DeploymentController          *DeploymentController    `json:"deploymentController"`
	Tags                          []Tag                    `json:"tags"`
	CreatedBy                     string                   `json:"createdBy"`
	EnableECSManagedTags          bool                     `json:"enableECSManagedTags"`
	PropagateTags                 string                   `json:"propagateTags"`
	EnableExecuteCommand          bool                     `json:"enableExecuteCommand"`
	AvailabilityZoneRebalancing   string                   `json:"availabilityZoneRebalancing"`
	ServiceConnectConfiguration   *ServiceConnectConfig    `json:"serviceConnectConfiguration"`
	VolumeConfigurations          any                      `json:"volumeConfigurations"`
	VpcLatticeConfigurations      any                      `json:"vpcLatticeConfigurations"`
	ResourceManagementType        string                   `json:"resourceManagementType"`
	CurrentServiceDeployment      string                   `json:"currentServiceDeployment"`
	CurrentServiceRevisions       any                      `json:"currentServiceRevisions"`
	FargateEphemeralStorage       any                      `json:"fargateEphemeralStorage"`
	ServiceConnectResources       any                      `json:"serviceConnectResources"`
}

// LoadBalancer attaches a container port to a load balancer target group.
type LoadBalancer struct {
	TargetGroupArn   string `json:"targetGroupArn"`
	LoadBalancerName string `json:"loadBalancerName"`
	ContainerName    string `json:"containerName"`
	ContainerPort    int    `json:"containerPort"`
}

// CapacityProviderItem is one entry of a capacity provider strategy.
type CapacityProviderItem struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int    `json:"weight"`
	Base             int    `json:"base"`
}

// DeploymentConfiguration is how ECS replaces tasks during a deployment.
type DeploymentConfiguration struct {
	DeploymentCircuitBreaker *CircuitBreaker `json:"deploymentCircuitBreaker"`
	MaximumPercent           *int            `json:"maximumPercent"`
	MinimumHealthyPercent    *int            `json:"minimumHealthyPercent"`
	Alarms                   any             `json:"alarms"`
	Strategy                 string          `json:"strategy"`
	BakeTimeInMinutes        *int            `json:"bakeTimeInMinutes"`
	LifecycleHooks           any             `json:"lifecycleHooks"`
	CanaryConfiguration      any             `json:"canaryConfiguration"`
	LinearConfiguration      any             `json:"linearConfiguration"`
}

// CircuitBreaker stops and optionally rolls back a failing deployment.
type CircuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

// DeploymentController names who deploys the service: ECS, CODE_DEPLOY or
// EXTERNAL.
type DeploymentController struct {
	Type string `json:"type"`
}

// Deployment is one deployment of a service; owl reads only its Service
// Connect configuration.
type Deployment struct {
	ID                          string                `json:"id"`
	Status                      string                `json:"status"`
	TaskDefinition              string                `json:"taskDefinition"`
	DesiredCount                int                   `json:"desiredCount"`
	PendingCount                int                   `json:"pendingCount"`
	RunningCount                int                   `json:"runningCount"`
	FailedTasks                 int                   `json:"failedTasks"`
	CreatedAt                   any                   `json:"createdAt"`
	UpdatedAt                   any                   `json:"updatedAt"`
	LaunchType                  string                `json:"launchType"`
	CapacityProviderStrategy    any                   `json:"capacityProviderStrategy"`
	PlatformVersion             string                `json:"platformVersion"`
	PlatformFamily              string                `json:"platformFamily"`
	NetworkConfiguration        any                   `json:"networkConfiguration"`
	RolloutState                string                `json:"rolloutState"`
	RolloutStateReason          string                `json:"rolloutStateReason"`
	ServiceConnectConfiguration *ServiceConnectConfig `json:"serviceConnectConfiguration"`
	ServiceConnectResources     any                   `json:"serviceConnectResources"`
	VolumeConfigurations        any                   `json:"volumeConfigurations"`
	FargateEphemeralStorage     any                   `json:"fargateEphemeralStorage"`
	VpcLatticeConfigurations    any                   `json:"vpcLatticeConfigurations"`
}

// ServiceConnectConfig is a service's Service Connect configuration.
type ServiceConnectConfig struct {
	Enabled                bool                    `json:"enabled"`
	Namespace              string                  `json:"namespace"`
	Services               []ServiceConnectService `json:"services"`
	LogConfiguration       any                     `json:"logConfiguration"`
	AccessLogConfiguration any                     `json:"accessLogConfiguration"`
}

// ServiceConnectService is a port that a service publishes by name.
type ServiceConnectService struct {
	PortName            string        `json:"portName"`
	DiscoveryName       string        `json:"discoveryName"`
	ClientAliases       []ClientAlias `json:"clientAliases"`
	IngressPortOverride int           `json:"ingressPortOverride"`
	Timeout             any           `json:"timeout"`
	TLS                 any           `json:"tls"`
}

// ClientAlias is a name and port that clients use to reach a service.
type ClientAlias struct {
	Port             int    `json:"port"`
	DNSName          string `json:"dnsName"`
	TestTrafficRules any    `json:"testTrafficRules"`
}

// ScalableTarget is an Application Auto Scaling target: the replica bounds of
// a service.
type ScalableTarget struct {
	ServiceNamespace  string `json:"ServiceNamespace"`
	ResourceID        string `json:"ResourceId"`
	ScalableDimension string `json:"ScalableDimension"`
	MinCapacity       int    `json:"MinCapacity"`
	MaxCapacity       int    `json:"MaxCapacity"`
	RoleARN           string `json:"RoleARN"`
	CreationTime      any    `json:"CreationTime"`
	SuspendedState    any    `json:"SuspendedState"`
	ScalableTargetARN string `json:"ScalableTargetARN"`
	PredictedCapacity any    `json:"PredictedCapacity"`
}

// ScalingPolicy is an Application Auto Scaling policy.
type ScalingPolicy struct {
	PolicyARN                            string                `json:"PolicyARN"`
	PolicyName                           string                `json:"PolicyName"`
	ServiceNamespace                     string                `json:"ServiceNamespace"`
	ResourceID                           string                `json:"ResourceId"`
	ScalableDimension                    string                `json:"ScalableDimension"`
	PolicyType                           string                `json:"PolicyType"`
	TargetTrackingScalingConfiguration   *TargetTrackingConfig `json:"TargetTrackingScalingPolicyConfiguration"`
	StepScalingPolicyConfiguration       any                   `json:"StepScalingPolicyConfiguration"`
	PredictiveScalingPolicyConfiguration any                   `json:"PredictiveScalingPolicyConfiguration"`
	Alarms                               any                   `json:"Alarms"`
	CreationTime                         any                   `json:"CreationTime"`
}

// TargetTrackingConfig keeps a metric near a target value.
type TargetTrackingConfig struct {
	TargetValue                   float64           `json:"TargetValue"`
	PredefinedMetricSpecification *PredefinedMetric `json:"PredefinedMetricSpecification"`
	CustomizedMetricSpecification any               `json:"CustomizedMetricSpecification"`
	ScaleOutCooldown              *int              `json:"ScaleOutCooldown"`
	ScaleInCooldown               *int              `json:"ScaleInCooldown"`
	DisableScaleIn                bool              `json:"DisableScaleIn"`
}

// PredefinedMetric names a predefined scaling metric.
type PredefinedMetric struct {
	PredefinedMetricType string `json:"PredefinedMetricType"`
	ResourceLabel        string `json:"ResourceLabel"`
}

// TargetGroup is an ELB target group; owl reads its health check.
type TargetGroup struct {
	TargetGroupArn             string   `json:"TargetGroupArn"`
	TargetGroupName            string   `json:"TargetGroupName"`
	Protocol                   string   `json:"Protocol"`
	Port                       int      `json:"Port"`
	VpcID                      string   `json:"VpcId"`
	HealthCheckProtocol        string   `json:"HealthCheckProtocol"`
	HealthCheckPort            string   `json:"HealthCheckPort"`
	HealthCheckEnabled         *bool    `json:"HealthCheckEnabled"`
	HealthCheckIntervalSeconds int      `json:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int      `json:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int      `json:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int      `json:"UnhealthyThresholdCount"`
	HealthCheckPath            string   `json:"HealthCheckPath"`
	Matcher                    *Matcher `json:"Matcher"`
	LoadBalancerArns           []string `json:"LoadBalancerArns"`
	TargetType                 string   `json:"TargetType"`
	ProtocolVersion            string   `json:"ProtocolVersion"`
	IPAddressType              string   `json:"IpAddressType"`
}

// Matcher is the set of healthy response codes of a target group.
type Matcher struct {
	HTTPCode string `json:"HttpCode"`
	GrpcCode string `json:"GrpcCode"`
}
