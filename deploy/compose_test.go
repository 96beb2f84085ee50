package deploy_test

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// composeEnv returns a service's environment, in either of compose's forms.
func composeEnv(t *testing.T, svc any) map[string]string {
	t.Helper()
	env := map[string]string{}
	switch e := get(svc, "environment").(type) {
	case map[string]any:
		for k, v := range e {
			env[k] = fmt.Sprint(v)
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(kv.(string), "=")
			env[k] = v
		}
	}
	return env
}

// bindMounts returns a service's bind mounts (short syntax), source -> target.
func bindMounts(svc any) map[string]string {
	out := map[string]string{}
	for _, v := range list(svc, "volumes") {
		s, ok := v.(string)
		if !ok || !strings.HasPrefix(s, ".") {
			continue
		}
		parts := strings.Split(s, ":")
		out[parts[0]] = parts[1]
	}
	return out
}

// containerPorts returns the container side of a service's published ports.
func containerPorts(svc any) []string {
	var out []string
	for _, p := range list(svc, "ports") {
		parts := strings.Split(fmt.Sprint(p), ":")
		out = append(out, parts[len(parts)-1])
	}
	return out
}

func TestCompose(t *testing.T) {
	c := yamlFile(t, composeFile)
	services, _ := get(c, "services").(map[string]any)
	for _, name := range []string{"rabbitmq", "redis", "mailpit", "eventworker", "prometheus", "grafana"} {
		if services[name] == nil {
			t.Errorf("compose.yaml has no service %s", name)
		}
	}
	if t.Failed() {
		return
	}

	// Every service waited for as healthy has a health check, and every one named exists.
	for name, svc := range services {
		deps, _ := get(svc, "depends_on").(map[string]any)
		for dep, cond := range deps {
			if services[dep] == nil {
				t.Errorf("%s depends on %s, which is no service", name, dep)
			}
			if str(cond, "condition") == "service_healthy" && get(services[dep], "healthcheck", "test") == nil {
				t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
		if img := str(svc, "image"); img == "" || (!strings.Contains(img, ":") && get(svc, "build") == nil) {
			t.Errorf("service %s: image %q, want a tag", name, img)
		}
		for src := range bindMounts(svc) {
			if _, err := os.Stat(filepath.Join("..", src)); err != nil {
				t.Errorf("service %s mounts %s: %v", name, src, err)
			}
		}
	}

	// RabbitMQ with the management UI, Redis with AOF, Mailpit's SMTP and UI.
	if img := str(services["rabbitmq"], "image"); !strings.HasPrefix(img, "rabbitmq:") || !strings.Contains(img, "management") {
		t.Errorf("rabbitmq image %q, want rabbitmq:*-management", img)
	}
	for svc, ports := range map[string][]string{"rabbitmq": {"5672", "15672"}, "mailpit": {"1025", "8025"}, "prometheus": {"9090"}, "grafana": {"3000"}} {
		for _, p := range ports {
			if !slices.Contains(containerPorts(services[svc]), p) {
				t.Errorf("service %s does not publish port %s", svc, p)
			}
		}
	}
	if cmd := fmt.Sprint(get(services["redis"], "command")); !strings.Contains(cmd, "--appendonly yes") {
		t.Errorf("redis command %s: want --appendonly yes (the worker's state wants persistence)", cmd)
	}

	// The worker: built here, its settings real and valid, pointing at the other services.
	w := services["eventworker"]
	if ctx := str(w, "build", "context"); ctx != "." {
		t.Errorf("the worker is built from %q, want . (the Dockerfile at the root)", ctx)
	}
	env := composeEnv(t, w)
	cfg := checkSettings(t, "compose.yaml eventworker", env)
	for setting, wantHost := range map[string]string{"EVENTWORKER_AMQP_URL": "rabbitmq:5672", "EVENTWORKER_REDIS_URL": "redis:6379", "EVENTWORKER_MAIL_URL": "mailpit:1025"} {
		u, err := url.Parse(env[setting])
		if err != nil || u.Host != wantHost {
			t.Errorf("%s=%q, want a URL to %s", setting, env[setting], wantHost)
		}
	}
	// RabbitMQ loads the definitions at boot: the worker's user, and the unroutable policy.
	rabbitMounts := bindMounts(services["rabbitmq"])
	if rabbitMounts["./deploy/rabbitmq/definitions.json"] != "/etc/rabbitmq/definitions.json" ||
		rabbitMounts["./deploy/rabbitmq/20-eventworker.conf"] != "/etc/rabbitmq/conf.d/20-eventworker.conf" {
		t.Errorf("rabbitmq mounts %v, want definitions.json at /etc/rabbitmq and 20-eventworker.conf in conf.d", rabbitMounts)
	}
	if u, _ := url.Parse(cfg.AMQPURL); u == nil || u.User.Username() != "eventworker" {
		t.Errorf("the worker logs in to RabbitMQ as %v, want eventworker, the user of definitions.json", u.User)
	} else if pw, _ := u.User.Password(); !definitionsUser(t, u.User.Username(), pw) {
		t.Errorf("definitions.json has no user %s with the worker's password", u.User.Username())
	}
	if u, _ := url.Parse(cfg.MailURL); u == nil || u.Query().Get("starttls") != "none" {
		t.Errorf("EVENTWORKER_MAIL_URL %q: Mailpit offers no STARTTLS, want starttls=none", cfg.MailURL)
	}
	_, port, _ := net.SplitHostPort(cfg.HTTPAddr)
	if !slices.Contains(containerPorts(w), port) {
		t.Errorf("the worker's port %s is not published", port)
	}
	test := fmt.Sprint(list(w, "healthcheck", "test"))
	if test != "[CMD /eventworker healthcheck --ready]" {
		t.Errorf("the worker's healthcheck is %s, want [CMD /eventworker healthcheck --ready] (exec form: the image has no shell)", test)
	}
	grace, err := time.ParseDuration(str(w, "stop_grace_period"))
	if err != nil || grace <= cfg.ShutdownTimeout+5*time.Second {
		t.Errorf("stop_grace_period %q, want more than EVENTWORKER_SHUTDOWN_TIMEOUT %s + 5 s", str(w, "stop_grace_period"), cfg.ShutdownTimeout)
	}
	if get(w, "read_only") != true {
		t.Error("the worker's container is not read_only")
	}

	// Prometheus gets its config with the rules beside it (rule_files is relative to it).
	mounts := bindMounts(services["prometheus"])
	promConf, rules := mounts["./deploy/"+prometheusFile], mounts["./deploy/"+alertsFile]
	if promConf == "" || rules == "" {
		t.Fatalf("prometheus mounts %v, want %s and %s", mounts, prometheusFile, alertsFile)
	}
	if filepath.Dir(rules) != filepath.Dir(promConf) || filepath.Base(rules) != filepath.Base(alertsFile) {
		t.Errorf("prometheus.yml's rule_files names %s beside it, but alerts.yml is mounted at %s", filepath.Base(alertsFile), rules)
	}
	if cmd := fmt.Sprint(get(services["prometheus"], "command")); !strings.Contains(cmd, "--config.file="+promConf) {
		t.Errorf("prometheus command %s does not load %s", cmd, promConf)
	}

	// Grafana gets the provisioning directory.
	if dst := bindMounts(services["grafana"])["./deploy/grafana/provisioning"]; dst != "/etc/grafana/provisioning" {
		t.Errorf("grafana mounts deploy/grafana/provisioning at %q, want /etc/grafana/provisioning", dst)
	}
}
