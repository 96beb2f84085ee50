// Package logging builds the worker's slog JSON logger: one object per line, durations as Go
// duration text ("1.5s") beside the settings that use the same form, every line about an event
// naming it the same way (WithEvent), and go-redis's own lines in the same JSON stream
// (Redis).
package logging
