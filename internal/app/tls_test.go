package app

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// TestWorkerOverAMQPS runs the real wiring against a RabbitMQ node that is reached over
// amqps:// with EVENTWORKER_AMQP_CA_FILE naming the test CA: the consumer, the readiness check
// (through the confirmer), and the publisher of derived events all connect over TLS. A stock
// fall becomes a cached product, a product.inventory_low on the exchange and an email to the
// owner. Without the CA the publisher is refused with an unknown-authority error.
func TestWorkerOverAMQPS(t *testing.T) {
	node := testenv.StartRabbitNode(t)
	rdb, prefix := testenv.Redis(t, "ewtls")
	mailDir := t.TempDir()

	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.AMQPURL = node.TLSURL
	cfg.AMQPCAFile = node.CAFile
	cfg.RedisURL = "redis://" + testenv.RedisAddr(t) + "/0"
	cfg.CachePrefix = prefix
	cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.MailURL = "file://" + mailDir
	cfg.MailRate = 0
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.HandlerTimeout, cfg.MailTimeout = 4*time.Second, 3*time.Second // within the shutdown deadline
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	// The system's CAs do not know the test CA: a producer without the CA is refused.
	_, err = publisher.New(context.Background(), publisher.Config{URL: node.TLSURL, Registry: reg})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("publisher over amqps without the CA: got %v, want an unknown-authority error", err)
	}
	if strings.Contains(fmt.Sprint(err), "guest:guest") {
		t.Errorf("the error shows the URL's password: %v", err)
	}

	// An observer on the node's plain listener sees the derived events.
	obs, err := amqp.Dial(node.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	och, err := obs.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := och.ExchangeDeclare(reg.Exchange(), "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, err := och.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := och.QueueBind(q.Name, "product.inventory_low", reg.Exchange(), false, nil); err != nil {
		t.Fatal(err)
	}
	lows, err := och.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after shutdown")
		}
	}()
	waitUntil(t, "readiness over amqps", 60*time.Second, func() bool {
		code, _ := readyz("http://" + cfg.HTTPAddr + "/readyz")
		return code == http.StatusOK
	})

	amqpTLS, err := broker.TLSConfig(cfg.AMQPURL, cfg.AMQPCAFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publisher.New(context.Background(), publisher.Config{URL: node.TLSURL, TLSConfig: amqpTLS, Registry: reg, Producer: "tls-test"})
	if err != nil {
		t.Fatalf("publisher over amqps with the CA: %v", err)
	}
	defer pub.Close()
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	publish := func(d registry.Payload) {
		t.Helper()
		if _, err := pub.Publish(context.Background(), publisher.Event{TenantID: "t1", OccurredAt: at, Data: d}); err != nil {
			t.Fatal(err)
		}
	}
	publish(&registry.TenantProvisioned{TenantID: "t1", Name: "Shop t1", OwnerEmail: "owner@t1.example"})
	product := func(v, qty int64) *registry.ProductUpdated {
		return &registry.ProductUpdated{Product: registry.Product{ProductID: "p1", SKU: "SKU-1", Name: "Lamp",
			Price: "9.90", Currency: "EUR", InventoryQuantity: qty, Version: v}}
	}
	cached := func(v int64) bool {
		var p registry.Product
		b, err := rdb.Get(context.Background(), prefix+"tenant:t1:product:p1").Bytes()
		return err == nil && json.Unmarshal(b, &p) == nil && p.Version == v
	}
	publish(product(1, 100))
	waitUntil(t, "version 1 in the cache", 30*time.Second, func() bool { return cached(1) })
	publish(product(2, 2))
	waitUntil(t, "version 2 in the cache", 30*time.Second, func() bool { return cached(2) })

	select {
	case m := <-lows:
		var env struct {
			EventType string `json:"event_type"`
			Data      struct {
				ProductID string `json:"product_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(m.Body, &env); err != nil || env.EventType != "product.inventory_low" || env.Data.ProductID != "p1" {
			t.Errorf("derived event: %v %s", err, m.Body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no product.inventory_low was published over amqps within 30s")
	}
	waitUntil(t, "the tenant welcome and the low-stock emails", 30*time.Second, func() bool {
		entries, _ := os.ReadDir(mailDir)
		return len(entries) >= 2
	})
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
