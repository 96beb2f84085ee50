// Package app wires the worker together in one place: configuration, registry, Redis, RabbitMQ,
// handlers, metrics and the HTTP listener, for the `eventworker run` command.
package app
