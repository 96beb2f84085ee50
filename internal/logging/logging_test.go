package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"
)

type testEvent struct{ id string }

func (e testEvent) LogAttrs() []slog.Attr {
	return []slog.Attr{slog.String("event_id", e.id), slog.Int("attempt", 2)}
}

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(buf)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("not one JSON object per line: %v", err)
		}
		out = append(out, m)
	}
	return out
}

func TestLogger(t *testing.T) {
	ev := testEvent{id: "e1"}
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want map[string]any // attribute -> value; nil value: must be absent
	}{
		{"a duration is Go duration text", func(l *slog.Logger) { l.Info("m", "took", 1500*time.Millisecond) },
			map[string]any{"took": "1.5s"}},
		{"a line with an event's context names the event", func(l *slog.Logger) { l.InfoContext(WithEvent(context.Background(), ev), "m") },
			map[string]any{"event_id": "e1", "attempt": float64(2)}},
		{"a line without one does not", func(l *slog.Logger) { l.InfoContext(context.Background(), "m") },
			map[string]any{"event_id": nil}},
		{"With keeps naming the event", func(l *slog.Logger) { l.With("k", "v").WarnContext(WithEvent(context.Background(), ev), "m") },
			map[string]any{"event_id": "e1", "k": "v"}},
		{"below the level nothing is written", func(l *slog.Logger) { l.DebugContext(WithEvent(context.Background(), ev), "m") },
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(New(&buf, slog.LevelInfo))
			got := lines(t, &buf)
			if tc.want == nil {
				if len(got) != 0 {
					t.Fatalf("wrote %v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("wrote %d lines, want 1", len(got))
			}
			for k, v := range tc.want {
				if got[0][k] != v {
					t.Errorf("%s = %#v, want %#v (line %v)", k, got[0][k], v, got[0])
				}
			}
		})
	}
}

func TestRedisLoggerJoinsTheJSONLogAndSaysARepeatOnce(t *testing.T) {
	var buf bytes.Buffer
	rl := NewRedisLogger(New(&buf, slog.LevelInfo))
	now := time.Unix(0, 0)
	rl.now = func() time.Time { return now }
	ctx := context.Background()
	rl.Printf(ctx, "redis: connection pool: failed to dial after %d attempts: %s", 5, "dial tcp: connection refused")
	rl.Printf(ctx, "redis: connection pool: failed to dial after %d attempts: %s", 5, "dial tcp: connection refused")
	now = now.Add(redisRepeat)
	rl.Printf(ctx, "redis: connection pool: failed to dial after %d attempts: %s", 5, "dial tcp: connection refused")
	got := lines(t, &buf)
	if len(got) != 2 {
		t.Fatalf("wrote %d lines, want 2 (the repeat within 10 s dropped)", len(got))
	}
	if got[0]["level"] != "WARN" || got[0]["detail"] != "connection pool: failed to dial after 5 attempts: dial tcp: connection refused" {
		t.Errorf("line %v", got[0])
	}
}

// Example: a handler logs with the context the worker gave it, and the line names the event.
func ExampleWithEvent() {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelInfo)
	ctx := WithEvent(context.Background(), testEvent{id: "e1"})
	log.InfoContext(ctx, "email sent", "template", "order_received")
	var line map[string]any
	_ = json.Unmarshal(buf.Bytes(), &line)
	fmt.Println(line["msg"], line["template"], line["event_id"], line["attempt"])
	// Output: email sent order_received e1 2
}
