package interop

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/registry"
)

// published is one line of kombu_publish.py's output.
type published struct {
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
}

func parsePublished(t *testing.T, lines []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range lines {
		var p published
		if err := json.Unmarshal([]byte(l), &p); err != nil || p.EventID == "" {
			t.Fatalf("kombu_publish.py printed %q, want a JSON line with event_id (%v)", l, err)
		}
		out[p.EventID] = p.EventType
	}
	return out
}

// kombuHeaders is what kombu_publish.py sends as headers, in the Go types amqp091-go decodes
// py-amqp's field types into.
var kombuHeaders = amqp.Table{
	"x-retries":  int32(3),
	"x-replayed": true,
	"x-nothing":  nil,
	"x-ratio":    0.5,
	"x-trace":    amqp.Table{"span": "abc123", "depth": int32(2), "sampled": false, "inner": amqp.Table{"k": "v"}},
	"x-tags":     []any{"checkout", int32(7), 1.5, nil, true},
}

// payloadChecks check the typed payload that each of kombu_publish.py's events decodes into.
var payloadChecks = map[string]func(t *testing.T, p registry.Payload){
	"order.created": func(t *testing.T, p registry.Payload) {
		oc := p.(*registry.OrderCreated)
		if oc.AmountMinor != 1999 || oc.Currency != "USD" || oc.CustomerEmail != "alice@example.com" {
			t.Errorf("order.created v1 amount 19.99 USD decoded as %d %s for %s, want 1999 USD for alice@example.com",
				oc.AmountMinor, oc.Currency, oc.CustomerEmail)
		}
		if len(oc.Items) != 1 || oc.Items[0].UnitPriceMinor != 1999 || oc.Items[0].Quantity != 1 {
			t.Errorf("order.created items decoded as %+v, want one item of 1 at 1999 minor units", oc.Items)
		}
	},
	"product.created": func(t *testing.T, p registry.Payload) {
		pc := p.(*registry.ProductCreated)
		if pc.SKU != "MUG-BLUE" || pc.Price != "19.99" || pc.InventoryQuantity != 12 || pc.Version != 1 || pc.Threshold() != 5 {
			t.Errorf("product.created decoded as %+v, want MUG-BLUE at 19.99, 12 in stock, version 1 and threshold 5 by default", pc.Product)
		}
	},
	"user.registered": func(t *testing.T, p registry.Payload) {
		if u := p.(*registry.UserRegistered); u.UserID != "usr-9" || u.Email != "bob@example.com" || u.Name != "Bob" {
			t.Errorf("user.registered decoded as %+v", u)
		}
	},
	"tenant.provisioned": func(t *testing.T, p registry.Payload) {
		if tp := p.(*registry.TenantProvisioned); tp.TenantID != "acme" || tp.OwnerEmail != "owner@acme.example" || tp.Plan != "pro" {
			t.Errorf("tenant.provisioned decoded as %+v", tp)
		}
	},
}

// TestKombuPublishesGoConsumes: events as the Python services publish them (version 1, naive
// occurred_at, AMQP headers of every non-string type) reach a Go consumer, validate and decode.
func TestKombuPublishesGoConsumes(t *testing.T) {
	t.Parallel()
	url := testenv.AMQPURL(t)
	reg, err := registry.Default()
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	ex := uniqueExchange(t, url)
	// The Go side declares first; Kombu's declare=[ex] then succeeds only if the flags agree.
	declareKombuExchange(t, url, ex)
	q := bindGoQueue(t, url, ex, "#")

	sent := parsePublished(t, runScript(t, "kombu_publish.py", url, ex))
	if len(sent) != len(payloadChecks) {
		t.Fatalf("kombu_publish.py published %d events, want %d", len(sent), len(payloadChecks))
	}
	for range len(sent) {
		d := q.next(t, 15*time.Second)
		what := d.RoutingKey + " from Kombu"
		if d.ContentType != "application/json" || d.ContentEncoding != "utf-8" || d.DeliveryMode != amqp.Persistent {
			t.Errorf("%s: content type %q, encoding %q, delivery mode %d; the contract says application/json, utf-8, 2",
				what, d.ContentType, d.ContentEncoding, d.DeliveryMode)
		}
		if !reflect.DeepEqual(d.Headers, kombuHeaders) {
			t.Errorf("%s: headers decoded as %#v, want %#v", what, d.Headers, kombuHeaders)
		}
		ev, err := reg.Validate(d.RoutingKey, d.Body)
		if err != nil {
			t.Errorf("%s: body does not validate: %v\n%s", what, err, d.Body)
			continue
		}
		if sent[ev.ID] != d.RoutingKey {
			t.Errorf("%s: event %s is not one the script published as %s (published: %v)", what, ev.ID, d.RoutingKey, sent)
		}
		delete(sent, ev.ID)
		if ev.Version != 1 || ev.Producer != "shop-api" || ev.TenantID != "acme" {
			t.Errorf("%s: envelope v%d producer %q tenant %q, want v1 shop-api acme", what, ev.Version, ev.Producer, ev.TenantID)
		}
		var raw struct {
			OccurredAt string `json:"occurred_at"`
		}
		_ = json.Unmarshal(d.Body, &raw)
		if len(raw.OccurredAt) < 19 || strings.ContainsAny(raw.OccurredAt[10:], "Z+-") {
			t.Errorf("%s: occurred_at %q has an offset; the script should send Python's naive isoformat()", what, raw.OccurredAt)
		}
		if age := time.Since(ev.OccurredAt); age < -time.Minute || age > 5*time.Minute {
			t.Errorf("%s: naive occurred_at %q read as %s, %s from now: not taken as UTC", what, raw.OccurredAt, ev.OccurredAt, age)
		}
		if check := payloadChecks[d.RoutingKey]; check == nil {
			t.Errorf("%s: no payload check for this type", what)
		} else if ev.Payload == nil {
			t.Errorf("%s: no typed payload decoded", what)
		} else {
			check(t, ev.Payload)
		}
	}
	if len(sent) > 0 {
		t.Errorf("events published by Kombu but never received: %v", sent)
	}
}

// TestKombuInt64Header finds what a header integer beyond 32 bits does to a Go consumer.
// py-amqp sends it as field type 'L' (an unsigned 64-bit integer), which amqp091-go v1.16.0
// cannot read. RabbitMQ 3.10 passes a classic queue's message on as it was published, so a Go
// consumer of a classic queue fails: its whole connection closes with a frame error, and a
// consumer with manual acks gets the message again on every reconnect. A quorum queue (the
// worker's default) stores the message and encodes its headers again, the integer as a signed
// 64-bit 'l', which reads normally. When the classic case stops failing, amqp091-go reads 'L'
// and the hazard is gone.
func TestKombuInt64Header(t *testing.T) {
	for _, tc := range []struct {
		queueType string
		readable  bool
	}{{"classic", false}, {"quorum", true}} {
		t.Run(tc.queueType, func(t *testing.T) {
			t.Parallel()
			url := testenv.AMQPURL(t)
			ex := uniqueExchange(t, url)
			declareKombuExchange(t, url, ex)
			q := bindGoQueueOf(t, url, ex, tc.queueType, "#")

			runScript(t, "kombu_publish.py", "--int64-header", url, ex, "user.registered")
			select {
			case d, ok := <-q.deliveries:
				switch {
				case ok && tc.readable:
					if got, _ := d.Headers["x-big"].(int64); got != 1<<40 {
						t.Errorf("x-big = %#v, want int64 2^40", d.Headers["x-big"])
					}
				case ok:
					t.Fatalf("amqp091-go now reads py-amqp's 'L' header from a classic queue (got %#v): the hazard is gone; update the README", d.Headers["x-big"])
				case tc.readable:
					t.Fatalf("the consumer of a %s queue stopped: %v", tc.queueType, <-q.closed)
				default:
					if err := <-q.closed; err == nil || err.Code != amqp.FrameError && !strings.Contains(err.Error(), "frame") {
						t.Errorf("consumer connection closed with %v, want a frame error", err)
					}
				}
			case <-time.After(15 * time.Second):
				t.Fatal("neither a delivery nor a connection error within 15s")
			}
		})
	}
}
