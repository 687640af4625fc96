package ecs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const taskDef = `{
  "taskDefinition": {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/orders:7",
    "family": "orders",
    "revision": 7,
    "cpu": "1 vCPU",
    "memory": "2048",
    "newFieldFromAWS": {"x": 1},
    "containerDefinitions": [
      {"name": "app", "image": "orders:1", "cpu": 512, "memory": 1024,
       "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
       "secrets": [{"name": "DB", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password::"}],
       "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}]},
      {"name": "envoy", "image": "envoy:1", "essential": false,
       "healthCheck": {"command": ["CMD-SHELL", "curl -f localhost:9901/ready"], "interval": 10}}
    ]
  },
  "tags": [{"key": "team", "value": "checkout"}]
}`

func TestAddTaskDefinition(t *testing.T) {
	in := &Input{}
	in.Add("orders.json", []byte(taskDef))
	if len(in.Errors) > 0 {
		t.Fatalf("errors: %v", in.Errors)
	}
	if len(in.TaskDefinitions) != 1 {
		t.Fatalf("got %d task definitions", len(in.TaskDefinitions))
	}
	td := in.TaskDefinitions[0]
	if td.Key() != "orders:7" || td.CPUUnits != 1024 || td.MemoryMiB != 2048 {
		t.Errorf("key %s cpu %d memory %d", td.Key(), td.CPUUnits, td.MemoryMiB)
	}
	if got := td.Tags; len(got) != 1 || got[0].Value != "checkout" {
		t.Errorf("tags %v", got)
	}
	if td.ContainerDefinitions[1].IsEssential() || !td.ContainerDefinitions[0].IsEssential() {
		t.Error("essential defaults wrong")
	}
	ref := td.ContainerDefinitions[0].Secrets[0].Ref
	want := SecretRef{Source: SecretsManager, Key: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", JSONKey: "password"}
	if diff := cmp.Diff(want, ref); diff != "" {
		t.Errorf("secret ref (-want +got):\n%s", diff)
	}
	unknown := in.Unknown["orders:7"]
	if len(unknown) != 1 || unknown[0].Path != "$.taskDefinition.newFieldFromAWS" {
		t.Errorf("unknown fields %v", unknown)
	}
}

func TestAddErrors(t *testing.T) {
	tests := []struct {
		name, json string
		want       []string // "path: reason substring"
	}{
		{"malformed", `{"taskDefinition": {"family": "x",}}`, []string{"$: line 1 col 35: malformed JSON"}},
		{"truncated", `{"taskDefinition": {`, []string{"$: malformed JSON: unexpected end of input"}},
		{"two values", `{"services": []} {}`, []string{"$: line 1 col 18: more than one JSON value"}},
		{"not an object", `[1]`, []string{"$: want an object, got an array"}},
		{"unknown shape", `{"foo": 1}`, []string{"$: not an ECS answer"}},
		{"wrong type", `{"taskDefinition": {"family": "x", "containerDefinitions": [{"name": "a", "image": "i", "cpu": "256"}]}}`,
			[]string{"$.taskDefinition.containerDefinitions[0].cpu: want an integer, got a string"}},
		{"fraction", `{"taskDefinition": {"family": "x", "containerDefinitions": [{"name": "a", "image": "i", "memory": 1.5}]}}`,
			[]string{"$.taskDefinition.containerDefinitions[0].memory: want an integer, got 1.5"}},
		{"bad task cpu", `{"taskDefinition": {"family": "x", "cpu": "lots", "containerDefinitions": [{"name": "a", "image": "i"}]}}`,
			[]string{`$.taskDefinition.cpu: CPU "lots"`}},
		{"bad task memory", `{"taskDefinition": {"family": "x", "memory": "-5", "containerDefinitions": [{"name": "a", "image": "i"}]}}`,
			[]string{`$.taskDefinition.memory: memory "-5"`}},
		{"reservation above memory", `{"taskDefinition": {"family": "x", "containerDefinitions": [{"name": "a", "image": "i", "memory": 128, "memoryReservation": 256}]}}`,
			[]string{"$.taskDefinition.containerDefinitions[0].memoryReservation: memoryReservation 256 MiB is above memory 128 MiB"}},
		{"bad secret", `{"taskDefinition": {"family": "x", "containerDefinitions": [{"name": "a", "image": "i", "secrets": [{"name": "S", "valueFrom": "arn:aws:s3:::bucket/key"}]}]}}`,
			[]string{`$.taskDefinition.containerDefinitions[0].secrets[0].valueFrom: valueFrom "arn:aws:s3:::bucket/key" is an ARN of service "s3", neither an SSM parameter nor a Secrets Manager secret`}},
		{"bad dependency", `{"taskDefinition": {"family": "x", "containerDefinitions": [{"name": "a", "image": "i", "dependsOn": [{"containerName": "b", "condition": "READY"}]}]}}`,
			[]string{`dependsOn[0].containerName: no other container named "b"`, `dependsOn[0].condition: condition "READY"`}},
		{"missing volume", `{"taskDefinition": {"family": "x", "containerDefinitions": [{"name": "a", "image": "i", "mountPoints": [{"sourceVolume": "data", "containerPath": "/d"}]}]}}`,
			[]string{`mountPoints[0].sourceVolume: no task volume named "data"`}},
		{"health check", `{"taskDefinition": {"family": "x", "containerDefinitions": [{"name": "a", "image": "i", "healthCheck": {"command": ["curl"], "interval": 1}}]}}`,
			[]string{"healthCheck.command: want", "healthCheck.interval: interval 1 out of range 5..300"}},
		{"service type", `{"services": [{"serviceName": "a", "taskDefinition": "t", "desiredCount": "two"}]}`,
			[]string{"$.services[0].desiredCount: want an integer, got a string"}},
		{"service percent", `{"services": [{"serviceName": "a", "taskDefinition": "t", "deploymentConfiguration": {"maximumPercent": 90}}]}`,
			[]string{"$.services[0].deploymentConfiguration.maximumPercent: 90 out of range 100..200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &Input{}
			in.Add("f.json", []byte(tt.json))
			if len(in.Errors) != len(tt.want) {
				t.Fatalf("got %d errors %v, want %d", len(in.Errors), in.Errors, len(tt.want))
			}
			for i, e := range in.Errors {
				if e.File != "f.json" || !strings.Contains(e.Path+": "+e.Reason, tt.want[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, e.Error(), tt.want[i])
				}
			}
			if len(in.TaskDefinitions)+len(in.Services) != 0 {
				t.Error("a definition with errors was kept")
			}
		})
	}
}

// One bad service in a describe-services answer leaves the others usable.
func TestBadServiceLeavesOthers(t *testing.T) {
	in := &Input{}
	in.Add("s.json", []byte(`{"services": [
		{"serviceName": "a", "taskDefinition": "a:1", "desiredCount": 2},
		{"serviceName": "b", "taskDefinition": "b:1", "desiredCount": -1},
		{"serviceName": "c", "taskDefinition": "c:1", "brandNew": true}
	], "failures": []}`))
	if len(in.Errors) != 1 || in.Errors[0].Path != "$.services[1].desiredCount" {
		t.Fatalf("errors %v", in.Errors)
	}
	if len(in.Services) != 2 || in.Services[0].ServiceName != "a" || in.Services[1].ServiceName != "c" {
		t.Fatalf("services %v", in.Services)
	}
	if u := in.Unknown["c"]; len(u) != 1 || u[0].Path != "$.services[2].brandNew" {
		t.Errorf("unknown %v", u)
	}
}

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("td/orders.json", taskDef)
	write("bad.json", `{`)
	write("notes.txt", `ignored`)
	write("scaling.json", `{"ScalableTargets": [{"ServiceNamespace": "ecs", "ResourceId": "service/c/orders", "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 2, "MaxCapacity": 10}]}`)
	in, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.TaskDefinitions) != 1 || len(in.ScalableTargets) != 1 || len(in.Errors) != 1 {
		t.Fatalf("read %d task definitions, %d targets, errors %v", len(in.TaskDefinitions), len(in.ScalableTargets), in.Errors)
	}
	if !strings.HasSuffix(in.Errors[0].File, "bad.json") {
		t.Errorf("error names %s", in.Errors[0].File)
	}
	if _, err := ReadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing folder read without error")
	}
}

func TestParseSecretRef(t *testing.T) {
	tests := []struct {
		in   string
		want SecretRef
		err  string
	}{
		{"/prod/db/password", SecretRef{Source: SSM, Key: "/prod/db/password"}, ""},
		{"db_password", SecretRef{Source: SSM, Key: "db_password"}, ""},
		{"arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db", SecretRef{Source: SSM, Key: "/prod/db"}, ""},
		{"arn:aws:ssm:eu-west-1:123456789012:parameter/flat", SecretRef{Source: SSM, Key: "flat"}, ""},
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-Xy12Zw", SecretRef{Source: SecretsManager, Key: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-Xy12Zw"}, ""},
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-Xy12Zw:token:AWSPREVIOUS:", SecretRef{Source: SecretsManager, Key: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-Xy12Zw", JSONKey: "token", VersionStage: "AWSPREVIOUS"}, ""},
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-Xy12Zw::::", SecretRef{}, "suffixes"},
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-Xy12Zw:::0a1b", SecretRef{Source: SecretsManager, Key: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-Xy12Zw", VersionID: "0a1b"}, ""},
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:api:k:AWSCURRENT:0a1b", SecretRef{}, "both a version stage and a version id"},
		{"arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x", SecretRef{Source: SSM, Key: "x"}, ""},
		{"arn:aws:ssm:eu-west-1:123456789012:document/x", SecretRef{}, "not of a parameter"},
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:", SecretRef{}, "not of a secret"},
		{"arn:aws:kms:eu-west-1:123456789012:key/abc", SecretRef{}, `service "kms"`},
		{"arn:aws:ssm", SecretRef{}, "not a well-formed ARN"},
		{"prod/db", SecretRef{}, "neither"},
		{"has space", SecretRef{}, "neither"},
		{"", SecretRef{}, "neither"},
	}
	for _, tt := range tests {
		got, err := ParseSecretRef(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSecretRef(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSecretRef(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseSecretRef(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseCPUMemory(t *testing.T) {
	for s, want := range map[string]int{"256": 256, "1 vCPU": 1024, "0.25 vcpu": 256, "4vCPU": 4096} {
		if got, err := ParseCPU(s); err != nil || got != want {
			t.Errorf("ParseCPU(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "-1", "abc", "NaN vCPU", "1e9"} {
		if _, err := ParseCPU(s); err == nil {
			t.Errorf("ParseCPU(%q) accepted", s)
		}
	}
	for s, want := range map[string]int{"512": 512, "2 GB": 2048, "0.5GB": 512} {
		if got, err := ParseMemory(s); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "2 TB", "inf GB"} {
		if _, err := ParseMemory(s); err == nil {
			t.Errorf("ParseMemory(%q) accepted", s)
		}
	}
}

// FuzzAdd checks that no input makes the reader panic, and that whatever it
// keeps is consistent with what it reports.
func FuzzAdd(f *testing.F) {
	f.Add([]byte(taskDef))
	f.Add([]byte(`{"services": [{"serviceName": "a", "taskDefinition": "a:1"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &Input{}
		in.Add("fuzz.json", data)
		for _, e := range in.Errors {
			if e.File != "fuzz.json" || !strings.HasPrefix(e.Path, "$") || e.Reason == "" {
				t.Fatalf("malformed error %+v", e)
			}
		}
		for _, td := range in.TaskDefinitions {
			if td.Family == "" || len(td.ContainerDefinitions) == 0 {
				t.Fatalf("kept an invalid task definition %+v", td)
			}
			for _, c := range td.ContainerDefinitions {
				for _, s := range c.Secrets {
					if s.Ref.Source == "" || s.Ref.Key == "" {
						t.Fatalf("kept an unparsed secret %+v", s)
					}
				}
			}
		}
		for _, s := range in.Services {
			if s.ServiceName == "" || s.TaskDefinition == "" {
				t.Fatalf("kept an invalid service %+v", s)
			}
		}
	})
}
