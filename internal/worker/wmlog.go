package worker

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// watermillLogger adapts the worker's logger for Watermill, whose per-subscription chatter at
// info level becomes debug. A line below the logger's level costs nothing: Watermill's slog
// adapter builds every line's attributes before slog looks at the level, and Watermill writes
// trace lines for every message.
func watermillLogger(log *slog.Logger) watermill.LoggerAdapter {
	return &gatedLogger{
		next: watermill.NewSlogLoggerWithLevelMapping(log.With("component", "watermill"), map[slog.Level]slog.Level{
			slog.LevelInfo: slog.LevelDebug,
		}),
		log: log,
	}
}

// gatedLogger drops Watermill's lines below the level of log before they are built.
type gatedLogger struct {
	next watermill.LoggerAdapter
	log  *slog.Logger
}

func (l *gatedLogger) on(level slog.Level) bool { return l.log.Enabled(context.Background(), level) }

// benignErrors are the lines Watermill logs at error level in a normal shutdown: an operator
// paged on error lines must not be woken by a deploy.
var benignErrors = map[string]bool{
	"All handlers stopped, closing router": true,
}

func (l *gatedLogger) Error(msg string, err error, fields watermill.LogFields) {
	if benignErrors[msg] {
		if l.on(slog.LevelDebug) {
			l.next.Debug(msg, fields.Add(watermill.LogFields{"error": err}))
		}
		return
	}
	l.next.Error(msg, err, fields)
}

func (l *gatedLogger) Info(msg string, fields watermill.LogFields) {
	if l.on(slog.LevelDebug) { // Watermill's info is the worker's debug
		l.next.Info(msg, fields)
	}
}

func (l *gatedLogger) Debug(msg string, fields watermill.LogFields) {
	if l.on(slog.LevelDebug) {
		l.next.Debug(msg, fields)
	}
}

func (l *gatedLogger) Trace(msg string, fields watermill.LogFields) {
	if l.on(watermill.LevelTrace) {
		l.next.Trace(msg, fields)
	}
}

func (l *gatedLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return &gatedLogger{next: l.next.With(fields), log: l.log}
}
