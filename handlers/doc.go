// Package handlers holds the worker's consumers: one Handler per consumer of registry.yaml
// (notifications, cache, inventory, tenants, analytics), and the one explicit list of them that
// the worker runs. Which events a handler receives is decided by registry.yaml's consumer mapping
// alone; adding a handler is a file and a line in All.
package handlers
