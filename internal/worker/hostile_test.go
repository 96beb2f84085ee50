package worker

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventworker/eventworker/internal/broker"
)

// hostileCase is one message of the hostile-input corpus.
type hostileCase struct {
	Name       string `json:"name"`
	RoutingKey string `json:"routing_key"`
	Body       string `json:"body"`
	BodyBase64 string `json:"body_base64"`
	Expect     string `json:"expect"`
	body       []byte
	id         string
}

// loadHostile reads testdata/hostile.jsonl and adds the inputs too large to keep in a file.
func loadHostile(t *testing.T, maxBody int) []*hostileCase {
	t.Helper()
	f, err := os.Open("../../testdata/hostile.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*hostileCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var c hostileCase
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("corpus line %q: %v", line, err)
		}
		c.body = []byte(c.Body)
		if c.BodyBase64 != "" {
			if c.body, err = base64.StdEncoding.DecodeString(c.BodyBase64); err != nil {
				t.Fatalf("corpus %s: %v", c.Name, err)
			}
		}
		out = append(out, &c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	valid := `{"event_id":"__ID__","event_type":"user.registered","event_version":1,"occurred_at":"2026-11-26T10:00:00Z","tenant_id":"acme","data":{"user_id":"u-1","email":"a@example.com"%s}}`
	items := make([]string, 5000)
	for i := range items {
		items[i] = fmt.Sprintf(`{"product_id":"p-%d","name":"Item %d","quantity":1,"unit_price_minor":100}`, i, i)
	}
	out = append(out,
		&hostileCase{Name: "over the size limit", RoutingKey: "user.registered", Expect: "dead:exceeds the limit",
			body: fmt.Appendf(nil, valid, `,"pad":"`+strings.Repeat("x", maxBody)+`"`)},
		&hostileCase{Name: "deep nesting", RoutingKey: "user.registered", Expect: "dead:exceeded max depth",
			body: fmt.Appendf(nil, valid, `,"deep":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000))},
		&hostileCase{Name: "huge array within the size limit", RoutingKey: "order.created", Expect: "handled",
			body: []byte(`{"event_id":"__ID__","event_type":"order.created","event_version":2,"occurred_at":"2026-11-26T10:00:00Z","tenant_id":"acme",` +
				`"data":{"order_id":"o-1","customer_id":"c-1","customer_email":"a@example.com","amount_minor":500000,"currency":"EUR","items":[` + strings.Join(items, ",") + `]}}`)},
	)
	for _, c := range out {
		c.id = uuid.NewString()
		c.body = bytes.ReplaceAll(c.body, []byte("__ID__"), []byte(c.id))
	}
	return out
}

// TestHostileInput sends the corpus through the worker: each message is dead-lettered at once
// with a reason that says what is wrong, or handled, and the worker stays ready throughout.
func TestHostileInput(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	cases := loadHostile(t, e.cfg.MaxBodyBytes)
	want := map[string]int{} // dead letters per consumer
	for _, c := range cases {
		if _, err := e.reg.Type(c.RoutingKey); err != nil {
			t.Fatalf("%s: routing key %s has no queue: %v", c.Name, c.RoutingKey, err)
		}
		e.publish(c.RoutingKey, c.body, nil)
		if strings.HasPrefix(c.Expect, "dead:") {
			for _, consumer := range e.reg.ConsumersOf(c.RoutingKey) {
				want[consumer]++
			}
		}
	}
	byBody := map[string]map[string]string{} // consumer -> body -> reason
	for consumer, n := range want {
		byBody[consumer] = map[string]string{}
		for _, d := range e.dead(consumer, n, 30*time.Second) {
			reason, _ := d.Headers[broker.HeaderReason].(string)
			if d.Headers[broker.HeaderErrorClass] != broker.ClassPermanent || d.Headers[broker.HeaderAttempts] != int64(1) {
				t.Errorf("%s: a hostile message was retried before its dead letter: %v", consumer, d.Headers)
			}
			byBody[consumer][string(d.Body)] = reason
		}
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			for _, consumer := range e.reg.ConsumersOf(c.RoutingKey) {
				if part, dead := strings.CutPrefix(c.Expect, "dead:"); dead {
					reason, ok := byBody[consumer][string(c.body)]
					if !ok {
						t.Fatalf("%s: not dead-lettered", consumer)
					}
					if !strings.Contains(reason, part) {
						t.Errorf("%s: reason %q does not say %q", consumer, reason, part)
					}
					continue
				}
				e.waitFor(c.Name+" to be handled by "+consumer, 30*time.Second, func() bool { return e.rec.count(consumer, c.id) == 1 })
			}
		})
	}
	if err := e.worker.Ready(t.Context()); err != nil {
		t.Errorf("the worker is not ready after the hostile input: %v", err)
	}
	id := uuid.NewString()
	e.publish("user.registered", e.example("user.registered", id), nil)
	e.waitFor("a valid event after the hostile ones", 30*time.Second, func() bool { return e.rec.count("notifications", id) == 1 })
}
