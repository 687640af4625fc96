// Package synth writes realistic synthetic ECS definitions (task
// definitions, services, scaling targets and policies, target groups) in the
// JSON shapes the AWS API returns, for load tests of owl migrate.
package synth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path"
)

// Config says how many services to write and from which seed; the same
// config always gives the same files.
type Config struct {
	Services int
	Seed     uint64
}

// Summary counts what was written.
type Summary struct {
	Services, Sidecars, Secrets, Autoscaled, LoadBalanced int
	Files                                                 int
}

const account = "123456789012"

var (
	// 32 teams, as in a fleet of hundreds of services where each team owns
	// its own migration timeline.
	teams = []string{
		"checkout", "learning", "growth", "platform", "data", "notifications", "payments", "search",
		"identity", "leagues", "stories", "speech", "ads", "shop", "experiments", "support",
		"content", "ml-ranking", "ml-speech", "infra", "observability", "security", "billing", "partners",
		"math", "music", "chess", "podcasts", "schools", "friends", "localization", "trust-safety",
	}
	nouns  = []string{"orders", "sessions", "streaks", "leagues", "reminders", "profiles", "courses", "stories", "podcasts", "friends", "shop", "ads"}
	suffix = []string{"api", "worker", "gateway", "sync", "indexer", "scheduler"}
)

// Generate returns the files for cfg by name.
func Generate(cfg Config) (map[string]any, Summary) {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x6f776c))
	files := map[string]any{}
	var sum Summary
	var services []any
	var targets, policies, groups []any
	for i := range cfg.Services {
		name := fmt.Sprintf("%s-%s-%03d", nouns[r.IntN(len(nouns))], suffix[r.IntN(len(suffix))], i)
		team := teams[r.IntN(len(teams))]
		family := name
		rev := 1 + r.IntN(80)
		port := 8000 + r.IntN(1000)
		arch := []string{"ARM64", "X86_64", ""}[r.IntN(3)]
		app := map[string]any{
			"name":             "app",
			"image":            fmt.Sprintf("%s.dkr.ecr.us-east-1.amazonaws.com/%s:%d", account, name, r.IntN(500)),
			"cpu":              []int{256, 512, 1024, 2048}[r.IntN(4)],
			"memory":           []int{512, 1024, 2048, 4096}[r.IntN(4)],
			"essential":        true,
			"portMappings":     []any{map[string]any{"containerPort": port, "hostPort": port, "protocol": "tcp", "name": "http"}},
			"environment":      []any{map[string]any{"name": "SERVICE", "value": name}, map[string]any{"name": "LOG_LEVEL", "value": "info"}},
			"dockerLabels":     map[string]any{"owl.dev/team": team},
			"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]any{"awslogs-group": "/ecs/" + name}},
		}
		if r.IntN(3) > 0 {
			app["memoryReservation"] = app["memory"].(int) / 2
		}
		if r.IntN(4) > 0 {
			app["healthCheck"] = map[string]any{"command": []any{"CMD-SHELL", fmt.Sprintf("curl -fsS http://localhost:%d/healthz || exit 1", port)}, "interval": 10, "timeout": 5, "retries": 3, "startPeriod": r.IntN(5) * 15}
		}
		var secrets []any
		for j := range r.IntN(5) {
			var from string
			switch r.IntN(4) {
			case 0:
				from = fmt.Sprintf("/%s/%s/secret-%d", team, name, j)
			case 1:
				from = fmt.Sprintf("arn:aws:ssm:us-east-1:%s:parameter/%s/%s/param-%d", account, team, name, j)
			case 2:
				from = fmt.Sprintf("arn:aws:secretsmanager:us-east-1:%s:secret:%s/db-%06x:password::", account, name, r.IntN(1<<24))
			default:
				from = fmt.Sprintf("arn:aws:secretsmanager:us-east-1:%s:secret:%s/api-%06x", account, name, r.IntN(1<<24))
			}
			secrets = append(secrets, map[string]any{"name": fmt.Sprintf("SECRET_%d", j), "valueFrom": from})
		}
		if len(secrets) > 0 {
			app["secrets"] = secrets
			sum.Secrets += len(secrets)
		}
		containers := []any{app}
		if r.IntN(3) == 0 {
			app["dependsOn"] = []any{map[string]any{"containerName": "envoy", "condition": "HEALTHY"}}
			containers = append(containers, map[string]any{
				"name": "envoy", "image": "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29", "cpu": 128, "memory": 256, "essential": true,
				"healthCheck": map[string]any{"command": []any{"CMD", "curl", "-f", "http://localhost:9901/ready"}, "interval": 5, "retries": 3},
			})
			sum.Sidecars++
		}
		if r.IntN(4) == 0 {
			containers = append(containers, map[string]any{"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", "essential": false, "memoryReservation": 64, "firelensConfiguration": map[string]any{"type": "fluentbit"}})
			sum.Sidecars++
		}
		td := map[string]any{
			"taskDefinitionArn":       fmt.Sprintf("arn:aws:ecs:us-east-1:%s:task-definition/%s:%d", account, family, rev),
			"family":                  family,
			"revision":                rev,
			"taskRoleArn":             fmt.Sprintf("arn:aws:iam::%s:role/%s-task", account, name),
			"executionRoleArn":        fmt.Sprintf("arn:aws:iam::%s:role/ecsTaskExecutionRole", account),
			"networkMode":             "awsvpc",
			"requiresCompatibilities": []any{"FARGATE"},
			"cpu":                     "4096",
			"memory":                  "8192",
			"status":                  "ACTIVE",
			"containerDefinitions":    containers,
		}
		if arch != "" {
			td["runtimePlatform"] = map[string]any{"cpuArchitecture": arch, "operatingSystemFamily": "LINUX"}
		}
		files[path.Join("task-definitions", name+".json")] = map[string]any{"taskDefinition": td, "tags": []any{map[string]any{"key": "team", "value": team}}}
		svc := map[string]any{
			"serviceArn":     fmt.Sprintf("arn:aws:ecs:us-east-1:%s:service/main/%s", account, name),
			"serviceName":    name,
			"clusterArn":     fmt.Sprintf("arn:aws:ecs:us-east-1:%s:cluster/main", account),
			"status":         "ACTIVE",
			"desiredCount":   1 + r.IntN(12),
			"taskDefinition": td["taskDefinitionArn"],
			"deploymentConfiguration": map[string]any{
				"deploymentCircuitBreaker": map[string]any{"enable": true, "rollback": true},
				"maximumPercent":           []int{200, 150, 125}[r.IntN(3)],
				"minimumHealthyPercent":    []int{100, 75, 50}[r.IntN(3)],
			},
			"schedulingStrategy":   "REPLICA",
			"deploymentController": map[string]any{"type": "ECS"},
			"tags":                 []any{map[string]any{"key": "team", "value": team}},
		}
		if r.IntN(2) == 0 {
			svc["capacityProviderStrategy"] = []any{map[string]any{"capacityProvider": "FARGATE", "weight": 1, "base": 1}, map[string]any{"capacityProvider": "FARGATE_SPOT", "weight": 1 + r.IntN(4)}}
		} else {
			svc["launchType"] = "FARGATE"
		}
		if r.IntN(2) == 0 {
			tg := fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:%s:targetgroup/%.20s/%016x", account, name, r.Uint64())
			svc["loadBalancers"] = []any{map[string]any{"targetGroupArn": tg, "containerName": "app", "containerPort": port}}
			groups = append(groups, map[string]any{
				"TargetGroupArn": tg, "TargetGroupName": fmt.Sprintf("%.32s", name), "Protocol": "HTTP", "Port": port, "HealthCheckProtocol": "HTTP",
				"HealthCheckPort": "traffic-port", "HealthCheckIntervalSeconds": 15, "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 2,
				"UnhealthyThresholdCount": 3, "HealthCheckPath": "/readyz", "Matcher": map[string]any{"HttpCode": "200"}, "TargetType": "ip",
			})
			sum.LoadBalanced++
		}
		services = append(services, svc)
		if r.IntN(2) == 0 {
			id := "service/main/" + name
			targets = append(targets, map[string]any{"ServiceNamespace": "ecs", "ResourceId": id, "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 1 + r.IntN(3), "MaxCapacity": 10 + r.IntN(50)})
			metric := []string{"ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "ALBRequestCountPerTarget"}[r.IntN(3)]
			policies = append(policies, map[string]any{
				"PolicyName": name + "-" + metric, "ServiceNamespace": "ecs", "ResourceId": id, "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "TargetTrackingScaling",
				"TargetTrackingScalingPolicyConfiguration": map[string]any{"TargetValue": float64(40 + r.IntN(40)), "PredefinedMetricSpecification": map[string]any{"PredefinedMetricType": metric}, "ScaleInCooldown": 300, "ScaleOutCooldown": 60},
			})
			sum.Autoscaled++
		}
		sum.Services++
	}
	// describe-services answers at most 10 services per call.
	for i := 0; i < len(services); i += 10 {
		files[path.Join("services", fmt.Sprintf("services-%04d.json", i/10))] = map[string]any{"services": services[i:min(i+10, len(services))], "failures": []any{}}
	}
	files["scalable-targets.json"] = map[string]any{"ScalableTargets": orEmpty(targets)}
	files["scaling-policies.json"] = map[string]any{"ScalingPolicies": orEmpty(policies)}
	files["target-groups.json"] = map[string]any{"TargetGroups": orEmpty(groups)}
	sum.Files = len(files)
	return files, sum
}

func orEmpty(a []any) []any {
	if a == nil {
		return []any{}
	}
	return a
}

// Files returns the files of cfg as indented JSON, by slash-separated path.
func Files(cfg Config) (map[string][]byte, Summary, error) {
	files, sum := Generate(cfg)
	out := make(map[string][]byte, len(files))
	for name, v := range files {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return nil, sum, err
		}
		out[name] = append(b, '\n')
	}
	return out, sum, nil
}
