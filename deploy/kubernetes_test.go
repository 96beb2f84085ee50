package deploy_test

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/registry"
)

// manifests returns the documents of deploy/kubernetes by kind (one of each is expected).
func manifests(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(kubernetesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", kubernetesDir, err)
	}
	byKind := map[string]map[string]any{}
	for _, f := range files {
		for _, doc := range yamlDocs(t, f) {
			kind := str(doc, "kind")
			if kind == "" || str(doc, "apiVersion") == "" {
				t.Errorf("%s: a document without kind or apiVersion", f)
				continue
			}
			if _, dup := byKind[kind]; dup {
				t.Errorf("%s: a second %s", f, kind)
			}
			doc["_file"] = f
			byKind[kind] = doc
		}
	}
	return byKind
}

// labelsMatch reports whether every label of selector is in labels.
func labelsMatch(selector, labels any) bool {
	sel, _ := selector.(map[string]any)
	lab, _ := labels.(map[string]any)
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if lab[k] != v {
			return false
		}
	}
	return true
}

// quantity parses the Kubernetes memory quantities and GOMEMLIMIT values these files use.
func quantity(t *testing.T, s string) int64 {
	t.Helper()
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				t.Fatalf("quantity %q: %v", s, err)
			}
			return v * u.mult
		}
	}
	t.Fatalf("quantity %q: unknown unit", s)
	return 0
}

func TestKubernetesManifests(t *testing.T) {
	m := manifests(t)
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "Secret", "ServiceMonitor", "Kustomization"} {
		if m[kind] == nil {
			t.Fatalf("deploy/kubernetes has no %s", kind)
		}
	}
	dep := m["Deployment"]
	pod := get(dep, "spec", "template", "spec")
	podLabels := get(dep, "spec", "template", "metadata", "labels")
	if !labelsMatch(get(dep, "spec", "selector", "matchLabels"), podLabels) {
		t.Errorf("the Deployment's selector does not match its pods' labels")
	}
	if r, _ := get(dep, "spec", "replicas").(int); r < 2 {
		t.Errorf("replicas %v, want at least 2 (the PDB keeps one while the other moves)", get(dep, "spec", "replicas"))
	}

	containers := list(pod, "containers")
	if len(containers) != 1 {
		t.Fatalf("%d containers, want 1", len(containers))
	}
	c := containers[0]

	// Environment: every EVENTWORKER_* is a setting, *_FILE point into the mounted Secret, and
	// the configuration loads with the example Secret's values.
	env := map[string]string{}
	for _, e := range list(c, "env") {
		if get(e, "valueFrom") != nil {
			t.Errorf("env %s comes from valueFrom; the test expects values and files", str(e, "name"))
		}
		env[str(e, "name")] = str(e, "value")
	}
	secret := m["Secret"]
	secretName := str(secret, "metadata", "name")
	secretData, _ := get(secret, "stringData").(map[string]any)
	var mountPath string
	for _, vm := range list(c, "volumeMounts") {
		for _, v := range list(pod, "volumes") {
			if str(v, "name") == str(vm, "name") && get(v, "secret") != nil {
				mountPath = str(vm, "mountPath")
				if get(vm, "readOnly") != true {
					t.Errorf("the Secret's volume is not mounted read-only")
				}
				if n := str(v, "secret", "secretName"); n != secretName {
					t.Errorf("the volume mounts Secret %q, secret.example.yaml is %q", n, secretName)
				}
			}
		}
	}
	if mountPath == "" {
		t.Fatal("no Secret is mounted into the container")
	}
	files := map[string]string{} // path in the container -> key of the Secret
	for _, v := range list(pod, "volumes") {
		for _, it := range list(v, "secret", "items") {
			key := str(it, "key")
			if _, ok := secretData[key]; !ok {
				t.Errorf("the volume maps key %q, which secret.example.yaml does not have", key)
			}
			files[path.Join(mountPath, str(it, "path"))] = key
		}
	}
	dir := t.TempDir()
	loadEnv := map[string]string{}
	for k, v := range env {
		loadEnv[k] = v
		if !strings.HasSuffix(k, "_FILE") {
			continue
		}
		key, ok := files[v]
		if !ok {
			t.Errorf("%s=%s is no file of the mounted Secret (%v)", k, v, files)
			continue
		}
		local := filepath.Join(dir, key)
		if err := os.WriteFile(local, fmt.Appendf(nil, "%v\n", secretData[key]), 0o600); err != nil {
			t.Fatal(err)
		}
		loadEnv[k] = local
	}
	for _, secretEnv := range []string{"EVENTWORKER_AMQP_URL_FILE", "EVENTWORKER_REDIS_URL_FILE", "EVENTWORKER_MAIL_URL_FILE"} {
		if env[secretEnv] == "" {
			t.Errorf("%s is not set: the credentials must come from the Secret", secretEnv)
		}
	}
	cfg := checkSettings(t, "deployment.yaml", loadEnv)

	// Probes and the port.
	_, port, _ := net.SplitHostPort(cfg.HTTPAddr)
	var portName string
	for _, p := range list(c, "ports") {
		if strconv.Itoa(get(p, "containerPort").(int)) == port {
			portName = str(p, "name")
		}
	}
	if portName == "" {
		t.Errorf("no container port %s (EVENTWORKER_HTTP_ADDR %s)", port, cfg.HTTPAddr)
	}
	for probe, want := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if p := str(c, probe, "httpGet", "path"); p != want {
			t.Errorf("%s path %q, want %s", probe, p, want)
		}
		if p := get(c, probe, "httpGet", "port"); p != portName && fmt.Sprint(p) != port {
			t.Errorf("%s port %v, want %s or %s", probe, p, portName, port)
		}
		if to, _ := get(c, probe, "timeoutSeconds").(int); to < 2 {
			t.Errorf("%s timeoutSeconds %v: /readyz's checks take up to a second", probe, get(c, probe, "timeoutSeconds"))
		}
	}

	// The grace period outlasts the shutdown deadline plus the HTTP listener's 5 s.
	grace, _ := get(pod, "terminationGracePeriodSeconds").(int)
	if need := int(cfg.ShutdownTimeout.Seconds()) + 5; grace <= need {
		t.Errorf("terminationGracePeriodSeconds %d, want more than %d (EVENTWORKER_SHUTDOWN_TIMEOUT %s + 5 s)", grace, need, cfg.ShutdownTimeout)
	}

	// Resources, and GOMEMLIMIT below the memory limit.
	for _, k := range []string{"requests", "limits"} {
		for _, r := range []string{"cpu", "memory"} {
			if get(c, "resources", k, r) == nil {
				t.Errorf("resources.%s.%s is not set", k, r)
			}
		}
	}
	if gml := env["GOMEMLIMIT"]; gml != "" {
		if limit := quantity(t, str(c, "resources", "limits", "memory")); quantity(t, gml) >= limit {
			t.Errorf("GOMEMLIMIT %s is not below the memory limit", gml)
		}
	}

	// Security context: non-root, read-only, no privilege escalation, no capabilities, seccomp.
	if get(pod, "securityContext", "runAsNonRoot") != true && get(c, "securityContext", "runAsNonRoot") != true {
		t.Error("runAsNonRoot is not set")
	}
	if u, _ := get(pod, "securityContext", "runAsUser").(int); u == 0 {
		t.Error("runAsUser is root or unset (the image's user is 65532)")
	}
	sc := get(c, "securityContext")
	if get(sc, "readOnlyRootFilesystem") != true {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if get(sc, "allowPrivilegeEscalation") != false {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if drop := list(sc, "capabilities", "drop"); len(drop) != 1 || drop[0] != "ALL" {
		t.Errorf("capabilities.drop %v, want [ALL]", drop)
	}
	if str(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" && str(sc, "seccompProfile", "type") != "RuntimeDefault" {
		t.Error("seccompProfile is not RuntimeDefault")
	}
	if mode, _ := get(pod, "volumes", 0, "secret", "defaultMode").(int); mode != 0o440 {
		t.Errorf("the Secret's files have mode %o, want 440 (readable by fsGroup)", mode)
	}

	// The PDB, the Service and the ServiceMonitor find the pods and the port.
	pdb := m["PodDisruptionBudget"]
	if !labelsMatch(get(pdb, "spec", "selector", "matchLabels"), podLabels) {
		t.Error("the PodDisruptionBudget's selector does not match the pods")
	}
	if get(pdb, "spec", "minAvailable") == nil && get(pdb, "spec", "maxUnavailable") == nil {
		t.Error("the PodDisruptionBudget sets neither minAvailable nor maxUnavailable")
	}
	svc := m["Service"]
	if !labelsMatch(get(svc, "spec", "selector"), podLabels) {
		t.Error("the Service's selector does not match the pods")
	}
	svcPort := get(svc, "spec", "ports", 0)
	if tp := get(svcPort, "targetPort"); tp != portName && fmt.Sprint(tp) != port {
		t.Errorf("the Service targets port %v, want %s", tp, portName)
	}
	sm := m["ServiceMonitor"]
	if !labelsMatch(get(sm, "spec", "selector", "matchLabels"), get(svc, "metadata", "labels")) {
		t.Error("the ServiceMonitor's selector does not match the Service")
	}
	if p := str(sm, "spec", "endpoints", 0, "port"); p != str(svcPort, "name") {
		t.Errorf("the ServiceMonitor scrapes port %q, the Service's is %q", p, str(svcPort, "name"))
	}
	if n := str(svc, "metadata", "name"); n != job {
		t.Errorf("the Service is %q: the ServiceMonitor's job label is the Service's name, and the alerts select job=%q", n, job)
	}
	ann, _ := get(dep, "spec", "template", "metadata", "annotations").(map[string]any)
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != port || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("scrape annotations %v, want scrape true, port %s, path /metrics", ann, port)
	}

	// kustomization.yaml lists files that exist, and never the example Secret.
	for _, r := range list(m["Kustomization"], "resources") {
		name := r.(string)
		if _, err := os.Stat(filepath.Join(kubernetesDir, name)); err != nil {
			t.Errorf("kustomization.yaml: %v", err)
		}
		if strings.Contains(name, "secret") {
			t.Errorf("kustomization.yaml applies %s: its credentials are examples", name)
		}
	}
}

// TestKEDAScaledObject checks the autoscaling example against the other manifests and the
// worker: it scales the Deployment, on exactly the work queues the worker declares, with the
// RabbitMQ URL of the Secret the worker reads, and stays out of the kustomization (KEDA's CRDs
// may be absent).
func TestKEDAScaledObject(t *testing.T) {
	m := manifests(t)
	so, auth, dep := m["ScaledObject"], m["TriggerAuthentication"], m["Deployment"]
	if so == nil || auth == nil {
		t.Fatalf("deploy/kubernetes has no ScaledObject or TriggerAuthentication")
	}
	for _, doc := range []map[string]any{so, auth} {
		if v := str(doc, "apiVersion"); v != "keda.sh/v1alpha1" {
			t.Errorf("%s: apiVersion %q, want keda.sh/v1alpha1", str(doc, "kind"), v)
		}
		if filepath.Base(str(doc, "_file")) != kedaFile {
			t.Errorf("%s is in %s, want %s", str(doc, "kind"), str(doc, "_file"), kedaFile)
		}
	}
	if ref := get(so, "spec", "scaleTargetRef"); str(ref, "name") != str(dep, "metadata", "name") ||
		(str(ref, "kind") != "" && str(ref, "kind") != "Deployment") {
		t.Errorf("scaleTargetRef %v, want the Deployment %q", ref, str(dep, "metadata", "name"))
	}
	minR, _ := get(so, "spec", "minReplicaCount").(int)
	maxR, _ := get(so, "spec", "maxReplicaCount").(int)
	replicas, _ := get(dep, "spec", "replicas").(int)
	if minR < 2 || minR > replicas || maxR < minR {
		t.Errorf("minReplicaCount %d, maxReplicaCount %d: want 2 <= min <= the Deployment's %d <= max (never scaled to zero: the PDB keeps one, and no worker means no queue metrics)", minR, maxR, replicas)
	}

	// The queues the worker declares: <prefix>.<consumer> for every consumer of the registry,
	// with the prefix the Deployment sets.
	prefix := config.Default().QueuePrefix
	for _, e := range list(dep, "spec", "template", "spec", "containers", 0, "env") {
		if str(e, "name") == "EVENTWORKER_QUEUE_PREFIX" {
			prefix = str(e, "value")
		}
	}
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, c := range reg.Consumers() {
		want[broker.Names{Prefix: prefix, Consumer: c}.Work()] = true
	}
	authName := str(auth, "metadata", "name")
	got := map[string]bool{}
	for i, tr := range list(so, "spec", "triggers") {
		where := fmt.Sprintf("trigger %d", i)
		q := str(tr, "metadata", "queueName")
		if got[q] {
			t.Errorf("%s: queue %s has two triggers", where, q)
		}
		got[q] = true
		if !want[q] {
			t.Errorf("%s: queue %q is not a work queue the worker declares (%v)", where, q, slices.Sorted(maps.Keys(want)))
		}
		if str(tr, "type") != "rabbitmq" || str(tr, "metadata", "protocol") != "amqp" || str(tr, "metadata", "mode") != "QueueLength" {
			t.Errorf("%s: type %q, protocol %q, mode %q; want rabbitmq, amqp, QueueLength", where, str(tr, "type"), str(tr, "metadata", "protocol"), str(tr, "metadata", "mode"))
		}
		if n, err := strconv.Atoi(str(tr, "metadata", "value")); err != nil || n <= 0 {
			t.Errorf("%s: value %q, want a positive whole number as a string", where, str(tr, "metadata", "value"))
		}
		if str(tr, "authenticationRef", "name") != authName {
			t.Errorf("%s: authenticationRef %v, want %q", where, get(tr, "authenticationRef"), authName)
		}
		if str(tr, "metadata", "host") != "" || str(tr, "metadata", "hostFromEnv") != "" {
			t.Errorf("%s: a host in the trigger; the URL comes from the Secret", where)
		}
	}
	for q := range want {
		if !got[q] {
			t.Errorf("no trigger for the work queue %s", q)
		}
	}

	// The URL is the Secret's key that the worker reads as EVENTWORKER_AMQP_URL_FILE.
	refs := list(auth, "spec", "secretTargetRef")
	if len(refs) != 1 || str(refs[0], "parameter") != "host" {
		t.Fatalf("secretTargetRef %v, want one host parameter", refs)
	}
	secret := m["Secret"]
	if n := str(refs[0], "name"); n != str(secret, "metadata", "name") {
		t.Errorf("secretTargetRef names Secret %q, the worker reads %q", n, str(secret, "metadata", "name"))
	}
	var amqpKey string
	for _, e := range list(dep, "spec", "template", "spec", "containers", 0, "env") {
		if str(e, "name") == "EVENTWORKER_AMQP_URL_FILE" {
			amqpKey = path.Base(str(e, "value"))
		}
	}
	if k := str(refs[0], "key"); k != amqpKey || get(secret, "stringData", k) == nil {
		t.Errorf("secretTargetRef key %q, want %q (EVENTWORKER_AMQP_URL_FILE's key, in the Secret)", k, amqpKey)
	}

	for _, r := range list(m["Kustomization"], "resources") {
		if r == kedaFile {
			t.Errorf("kustomization.yaml applies %s: without KEDA's CRDs the whole apply fails", kedaFile)
		}
	}
}

// kedaFile is the autoscaling example beside the manifests.
const kedaFile = "keda-scaledobject.yaml"
