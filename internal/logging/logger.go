package logging

import (
	"io"
	"log/slog"
)

// New returns the JSON logger of the worker's commands, writing to w at level and above.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(Wrap(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: DurationsAsText})))
}

// DurationsAsText is a slog.HandlerOptions.ReplaceAttr that writes a time.Duration as Go
// duration text ("25s") instead of a count of nanoseconds: the form of the settings and of
// the worker's own duration attributes.
func DurationsAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}
