package deploy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/registry"
)

// definitionsFile is RabbitMQ's definitions of the local stack, also an example for others.
var definitionsFile = filepath.Join("rabbitmq", "definitions.json")

// definitions is the part of a RabbitMQ definitions file the tests read.
type definitions struct {
	Users []struct {
		Name             string `json:"name"`
		PasswordHash     string `json:"password_hash"`
		HashingAlgorithm string `json:"hashing_algorithm"`
	} `json:"users"`
	Policies []struct {
		Name       string         `json:"name"`
		Pattern    string         `json:"pattern"`
		ApplyTo    string         `json:"apply-to"`
		Definition map[string]any `json:"definition"`
	} `json:"policies"`
}

func readDefinitions(t *testing.T) definitions {
	t.Helper()
	b, err := os.ReadFile(definitionsFile)
	if err != nil {
		t.Fatal(err)
	}
	var d definitions
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", definitionsFile, err)
	}
	return d
}

// definitionsUser reports whether the definitions have user with password, hashed as RabbitMQ's
// rabbit_password_hashing_sha256 does: base64(salt || sha256(salt || password)), 4 bytes of salt.
func definitionsUser(t *testing.T, user, password string) bool {
	t.Helper()
	for _, u := range readDefinitions(t).Users {
		raw, err := base64.StdEncoding.DecodeString(u.PasswordHash)
		if u.Name != user || u.HashingAlgorithm != "rabbit_password_hashing_sha256" || err != nil || len(raw) != 4+sha256.Size {
			continue
		}
		sum := sha256.Sum256(append(append([]byte{}, raw[:4]...), password...))
		if bytes.Equal(sum[:], raw[4:]) {
			return true
		}
	}
	return false
}

// TestUnroutablePolicy: the definitions and the Kubernetes Policy make the alternate exchange
// of the registry's exchange the one the worker binds its unroutable queue to.
func TestUnroutablePolicy(t *testing.T) {
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	wantPattern, wantAE := "^"+reg.Exchange()+"$", broker.UnroutableExchange(reg.Exchange())
	var found bool
	for _, p := range readDefinitions(t).Policies {
		if p.Definition["alternate-exchange"] == nil {
			continue
		}
		found = true
		if p.Pattern != wantPattern || p.ApplyTo != "exchanges" || p.Definition["alternate-exchange"] != wantAE {
			t.Errorf("%s: policy %s: pattern %q apply-to %q alternate-exchange %v, want %q, exchanges, %s",
				definitionsFile, p.Name, p.Pattern, p.ApplyTo, p.Definition["alternate-exchange"], wantPattern, wantAE)
		}
	}
	if !found {
		t.Errorf("%s has no policy with an alternate-exchange", definitionsFile)
	}
	policy := manifests(t)["Policy"]
	if policy == nil {
		t.Fatal("deploy/kubernetes has no Policy")
	}
	if str(policy, "spec", "pattern") != wantPattern || str(policy, "spec", "applyTo") != "exchanges" ||
		str(policy, "spec", "definition", "alternate-exchange") != wantAE {
		t.Errorf("the Kubernetes Policy's spec is %v, want pattern %q, applyTo exchanges, alternate-exchange %s", get(policy, "spec"), wantPattern, wantAE)
	}
	conf, err := os.ReadFile(filepath.Join("rabbitmq", "20-eventworker.conf"))
	if err != nil || !strings.Contains(string(conf), "load_definitions = /etc/rabbitmq/definitions.json") {
		t.Errorf("20-eventworker.conf does not load /etc/rabbitmq/definitions.json: %v", err)
	}
}

// TestClassicQueuesMirroredPolicy: the mirroring policy of the definitions matches every classic
// queue the worker declares (dead-letter, retry and unroutable queues), so that on a cluster
// they outlive their node, and none of the work queues, which are quorum queues.
func TestClassicQueuesMirroredPolicy(t *testing.T) {
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	var pattern string
	for _, p := range readDefinitions(t).Policies {
		if p.Definition["ha-mode"] == "all" && p.ApplyTo == "queues" {
			pattern = p.Pattern
		}
	}
	if pattern == "" {
		t.Fatalf("%s has no policy with ha-mode all for queues", definitionsFile)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	for _, prefix := range []string{cfg.QueuePrefix, "shop-eu"} {
		mirrored := map[string]bool{broker.UnroutableQueue(prefix): true}
		for _, c := range reg.Consumers() {
			n := broker.Names{Prefix: prefix, Consumer: c}
			mirrored[n.DeadLetter()] = true
			for _, d := range append(cfg.RetryDelays, 1500*time.Millisecond) {
				mirrored[n.Retry(d)] = true
			}
			mirrored[n.Work()] = false
		}
		for q, want := range mirrored {
			if got := re.MatchString(q); got != want {
				t.Errorf("policy pattern %q matches %s: %v, want %v", pattern, q, got, want)
			}
		}
	}
}

// TestMirroringPolicyForOperator: the Topology Operator's Policy for a cluster is the
// definitions' eventworker-classic-mirrored, pattern and definition alike.
func TestMirroringPolicyForOperator(t *testing.T) {
	t.Parallel()
	docs := yamlDocs(t, filepath.Join("kubernetes", "cluster", "rabbitmq-mirroring-policy.yaml"))
	if len(docs) != 1 || str(docs[0], "kind") != "Policy" {
		t.Fatalf("want one Policy, got %v", docs)
	}
	spec, _ := docs[0]["spec"].(map[string]any)
	for _, p := range readDefinitions(t).Policies {
		if p.Name != "eventworker-classic-mirrored" {
			continue
		}
		if spec["name"] != p.Name || spec["pattern"] != p.Pattern || spec["applyTo"] != p.ApplyTo ||
			fmt.Sprint(spec["definition"]) != fmt.Sprint(p.Definition) {
			t.Errorf("the Kubernetes Policy %v differs from the definitions' %+v", spec, p)
		}
		return
	}
	t.Error("the definitions have no eventworker-classic-mirrored policy")
}
