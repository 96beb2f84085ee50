package logging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// redisRepeat is how long an identical go-redis line is not logged again: while Redis is down
// the pool logs each failed dial.
const redisRepeat = 10 * time.Second

// RedisLogger writes go-redis's own lines (pool and connection trouble) to a slog logger, at
// WARN, so they join the JSON log instead of being plain text on stderr. Install it with
// redis.SetLogger. The same line is logged at most once every 10 s.
type RedisLogger struct {
	log  *slog.Logger
	mu   sync.Mutex
	last string
	at   time.Time
	now  func() time.Time
}

// NewRedisLogger returns a RedisLogger writing to log.
func NewRedisLogger(log *slog.Logger) *RedisLogger {
	return &RedisLogger{log: log, now: time.Now}
}

// Printf implements go-redis's logging interface.
func (l *RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	text := strings.TrimSpace(strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
	l.mu.Lock()
	now := l.now()
	repeat := text == l.last && now.Sub(l.at) < redisRepeat
	if !repeat {
		l.last, l.at = text, now
	}
	l.mu.Unlock()
	if !repeat {
		l.log.WarnContext(ctx, "redis client", "detail", text)
	}
}
