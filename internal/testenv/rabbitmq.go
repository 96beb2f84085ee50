package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// RabbitNode is a RabbitMQ node of a test's own: Debian's rabbitmq-server started under another
// node name, on free ports, with its own data directory, so that the test may stop and start
// it without touching the machine's node that every other test uses. It listens for AMQP on
// URL and for AMQP over TLS on TLSURL, with a server certificate the CA in CAFile issued (the
// PKI of Certificates) for localhost and 127.0.0.1.
type RabbitNode struct {
	// Name is the Erlang node name, for rabbitmqctl -n.
	Name string
	// URL is amqp://guest:guest@127.0.0.1:PORT/.
	URL string
	// TLSURL is amqps://guest:guest@localhost:PORT/.
	TLSURL string
	// CAFile is the PEM file of the CA that issued the node's certificate.
	CAFile string

	t   testing.TB
	dir string
	env []string
}

// rabbitStartTimeout bounds a node's boot, which takes 5 to 10 s on a 2-core host.
const rabbitStartTimeout = 90 * time.Second

// StartRabbitNode starts a private RabbitMQ node and stops it and removes its files when the
// test ends. It needs root (the server runs as the rabbitmq user, as Debian's script does);
// without it, or without rabbitmq-server, the test is skipped, or fails in CI.
func StartRabbitNode(t testing.TB) *RabbitNode {
	t.Helper()
	n := newRabbitNode(t, "")
	n.Start()
	return n
}

// newRabbitNode writes a private node's files, with extraConf appended to its rabbitmq.conf, and
// registers its clean-up; it starts nothing.
func newRabbitNode(t testing.TB, extraConf string) *RabbitNode {
	t.Helper()
	if _, err := exec.LookPath("rabbitmq-server"); err != nil {
		Unavailable(t, "a private RabbitMQ node: rabbitmq-server is not installed: %v", err)
	}
	if os.Geteuid() != 0 {
		Unavailable(t, "a private RabbitMQ node: starting rabbitmq-server as the rabbitmq user needs root")
	}
	owner, err := user.Lookup("rabbitmq")
	if err != nil {
		Unavailable(t, "a private RabbitMQ node: %v", err)
	}
	uid, _ := strconv.Atoi(owner.Uid)
	gid, _ := strconv.Atoi(owner.Gid)

	// Not t.TempDir: its parent is private to root, and the server runs as rabbitmq.
	dir, err := os.MkdirTemp("", "ewrabbit-")
	if err != nil {
		t.Fatal(err)
	}
	pki := writePKI(t, dir) // the files the node's configuration below names
	n := &RabbitNode{
		Name:   fmt.Sprintf("ewtest-%d-%s@localhost", os.Getpid(), filepath.Base(dir)[len("ewrabbit-"):]),
		CAFile: pki.CAFile,
		t:      t,
		dir:    dir,
	}
	port, tlsPort, distPort := listenPort(t), listenPort(t), listenPort(t)
	n.URL = fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port)
	n.TLSURL = fmt.Sprintf("amqps://guest:guest@localhost:%d/", tlsPort)

	conf := fmt.Sprintf(`listeners.tcp.default = 127.0.0.1:%d
listeners.ssl.default = 127.0.0.1:%d
ssl_options.cacertfile = %[3]s/ca.pem
ssl_options.certfile = %[3]s/server.pem
ssl_options.keyfile = %[3]s/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
loopback_users = none
`, port, tlsPort, dir) + extraConf
	if err := os.WriteFile(filepath.Join(dir, "rabbitmq.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
	n.env = append(os.Environ(),
		"RABBITMQ_NODENAME="+n.Name,
		"RABBITMQ_DIST_PORT="+strconv.Itoa(distPort),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
		// /etc/rabbitmq/rabbitmq-env.conf names the machine's node; this node must not read it.
		"RABBITMQ_CONF_ENV_FILE=/dev/null",
	)
	t.Cleanup(func() {
		n.shutdown()
		_ = os.RemoveAll(dir)
	})
	return n
}

// Start starts the node (again) and waits until it accepts AMQP connections.
func (n *RabbitNode) Start() {
	n.t.Helper()
	began := time.Now()
	n.launch()
	n.awaitAMQP(began)
}

// launch starts the node's VM and returns at once; awaitAMQP waits for it. Apart, so that the
// nodes of a cluster boot side by side.
func (n *RabbitNode) launch() {
	n.t.Helper()
	cmd := exec.Command("rabbitmq-server", "-detached")
	cmd.Env = n.env
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("testenv: rabbitmq-server -detached for %s: %v\n%s", n.Name, err, out)
	}
}

// awaitAMQP waits until the node accepts AMQP connections, or fails the test.
func (n *RabbitNode) awaitAMQP(began time.Time) {
	n.t.Helper()
	deadline := time.Now().Add(rabbitStartTimeout)
	for {
		conn, err := amqp.DialConfig(n.URL, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
		if err == nil {
			_ = conn.Close()
			n.t.Logf("testenv: RabbitMQ node %s started in %.1fs", n.Name, time.Since(began).Seconds())
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("testenv: RabbitMQ node %s did not accept connections within %s: %v\nlog tail:\n%s",
				n.Name, rabbitStartTimeout, err, n.logTail())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Stop shuts the node down and waits for its process to exit; its queues stay on disk.
func (n *RabbitNode) Stop() {
	n.t.Helper()
	began := time.Now()
	if out, err := n.shutdown(); err != nil {
		n.t.Fatalf("testenv: rabbitmqctl shutdown of %s: %v\n%s", n.Name, err, out)
	}
	n.t.Logf("testenv: RabbitMQ node %s stopped in %.1fs", n.Name, time.Since(began).Seconds())
}

// Kill sends SIGKILL to the node's Erlang VM (beam.smp), as an out-of-memory killer or a lost
// machine would end it: no clean shutdown, no connection closed by the broker. It waits until
// the process is gone; Start starts the node again on the same data.
func (n *RabbitNode) Kill() {
	n.t.Helper()
	pid := n.pid()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		n.t.Fatalf("testenv: SIGKILL of %s (pid %d): %v", n.Name, pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	// Signal 0 fails once the process is gone (it is not this process's child: no zombie).
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			n.t.Fatalf("testenv: %s (pid %d) still runs 10 s after SIGKILL", n.Name, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = os.Remove(filepath.Join(n.dir, "pid"))
	n.t.Logf("testenv: RabbitMQ node %s killed (SIGKILL, pid %d)", n.Name, pid)
}

// pid is the process id of the node's Erlang VM, from its pid file.
func (n *RabbitNode) pid() int {
	n.t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dir, "pid"))
	if err != nil {
		n.t.Fatalf("testenv: the pid file of %s: %v", n.Name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		n.t.Fatalf("testenv: the pid file of %s holds %q", n.Name, b)
	}
	return pid
}

// Addr returns the host:port of the node's AMQP listener.
func (n *RabbitNode) Addr() string {
	u, err := amqp.ParseURI(n.URL)
	if err != nil {
		return ""
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(u.Port))
}

func (n *RabbitNode) shutdown() ([]byte, error) {
	cmd := exec.Command("rabbitmqctl", "-n", n.Name, "shutdown")
	cmd.Env = n.env
	out, err := cmd.CombinedOutput()
	if err != nil && !n.running() {
		return nil, nil
	}
	return out, err
}

// running reports whether the node's AMQP port accepts connections.
func (n *RabbitNode) running() bool {
	u, err := amqp.ParseURI(n.URL)
	if err != nil {
		return false
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(u.Host, strconv.Itoa(u.Port)), time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func (n *RabbitNode) logTail() string {
	logs, _ := filepath.Glob(filepath.Join(n.dir, "log", "*.log"))
	out := ""
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		if len(b) > 3000 {
			b = b[len(b)-3000:]
		}
		out += l + ":\n" + string(b) + "\n"
	}
	return out
}

// listenPort returns a port on 127.0.0.1 below Linux's ephemeral range (32768 and up) that was
// free a moment ago. A node that stops and starts again must find its ports free: one from the
// ephemeral range may meanwhile be the local end of a client's connection (a worker redialling,
// a peer node reconnecting), and the node's listener then fails to bind.
func listenPort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		_ = ln.Close()
		return port
	}
	t.Fatal("testenv: no free port between 20000 and 32000")
	return 0
}

// FreePort returns a port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Ctl runs rabbitmqctl against the node with args and fails the test when it fails.
func (n *RabbitNode) Ctl(args ...string) string {
	n.t.Helper()
	cmd := exec.Command("rabbitmqctl", append([]string{"-n", n.Name}, args...)...)
	cmd.Env = n.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		n.t.Fatalf("testenv: rabbitmqctl %v on %s: %v\n%s", args, n.Name, err, out)
	}
	return string(out)
}
