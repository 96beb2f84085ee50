package handlers

import "log/slog"

// Deps is what the handlers need from the outside; the run command fills it.
type Deps struct {
	Logger *slog.Logger
}

// All is the one explicit list of the worker's handlers, one per consumer of registry.yaml.
// Adding a consumer is a handler file and a line here; registry.yaml alone decides which events
// reach it. The worker refuses to start while this list and the registry's consumers differ.
func All(d Deps) []Handler {
	// The notifications, cache, inventory, tenants and analytics handlers are added here as
	// they are built (issues 4 and 5).
	return nil
}
