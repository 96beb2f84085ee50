// Package demo runs the worker's whole pipeline in one process with no outside service, for
// `eventworker demo`: the handlers of handlers.All with the same kinds of dependencies as
// `eventworker run` (the email renderer, a mailer writing .eml files to a file:// outbox, the
// tenant, cache, analytics and inventory stores, the publisher of derived events, the
// Prometheus registry and the HTTP listener), built by app.New as for `run`, except that events
// travel over internal/localtransport (a Watermill GoChannel and in-memory queues) instead of
// RabbitMQ, and Redis is an embedded miniredis behind the same go-redis code.
//
// Run publishes the registry's examples and a burst of generated events through the
// publisher package, plus one invalid event and a tenant suspension, waits until every
// consumer is idle after each step, and prints per consumer what happened: emails written,
// cache keys refreshed and purged, derived events, tenant profiles, counters, dead letters and
// a summary of the metrics. It checks its own expectations and returns an error naming each
// one that failed.
package demo
