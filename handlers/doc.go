// Package handlers holds the worker's consumers: one Handler per consumer of registry.yaml
// (notifications, cache, inventory, tenants, analytics), and the one explicit list of them that
// the worker runs. Which events a handler receives is decided by registry.yaml's consumer mapping
// alone; adding a handler is a file and a line in All.
//
// A handler logs with slog's *Context methods and the context it was given: the worker's
// logger adds the event's event_id, event_type, tenant_id, consumer, attempt and
// correlation_id to every such line, so a handler names only what is its own.
package handlers
