// Package testenv gives integration tests the real services of the local host (RabbitMQ, Redis,
// Debian's Python with Kombu). Outside CI a test whose service cannot be reached is skipped with
// the reason; with CI=true it fails, so CI never passes by skipping.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// InCI reports whether the tests run in CI (CI=true), where an unreachable service is a failure.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips the test, or fails it in CI, because what it needs is not there.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and a service the test needs is unavailable: "+format, args...)
	}
	t.Skipf("service unavailable (set CI=true to make this a failure): "+format, args...)
}

// AMQPURL returns the URL of the test RabbitMQ (EVENTWORKER_TEST_AMQP_URL, by default the
// machine's guest account), after checking that it accepts a connection.
func AMQPURL(t testing.TB) string {
	t.Helper()
	u := getenv("EVENTWORKER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
	conn, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		Unavailable(t, "RabbitMQ at %s: %v", redact(u), err)
	}
	_ = conn.Close()
	return u
}

// RedisAddr returns host:port of the test Redis (EVENTWORKER_TEST_REDIS_ADDR, default
// 127.0.0.1:6379), after checking that it answers PING.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := getenv("EVENTWORKER_TEST_REDIS_ADDR", "127.0.0.1:6379")
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		Unavailable(t, "Redis at %s: %v", addr, err)
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 16)
	if _, err := c.Write([]byte("PING\r\n")); err == nil {
		if n, err := c.Read(buf); err == nil && strings.HasPrefix(string(buf[:n]), "+PONG") {
			return addr
		}
	}
	Unavailable(t, "Redis at %s does not answer PING", addr)
	return ""
}

// KombuPython returns a Python interpreter that can import kombu: EVENTWORKER_TEST_PYTHON, or
// Debian's /usr/bin/python3 with python3-kombu installed.
func KombuPython(t testing.TB) string {
	t.Helper()
	py := getenv("EVENTWORKER_TEST_PYTHON", "/usr/bin/python3")
	out, err := exec.Command(py, "-c", "import kombu; print(kombu.__version__)").CombinedOutput()
	if err != nil {
		Unavailable(t, "%s cannot import kombu (apt-get install python3-kombu): %v: %s", py, err, out)
	}
	return py
}

// Name returns a name unique to this test run, for queues and exchanges that must not collide
// with other tests running at the same time.
func Name(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
