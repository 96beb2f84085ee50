// Package app wires the worker together in one place: configuration, registry, Redis, RabbitMQ,
// handlers, metrics and the HTTP listener. New is the one constructor of a worker; `eventworker
// run` uses it with its defaults, `eventworker demo` with an in-process transport and an embedded
// Redis (WithTransport, WithRedis), and `eventworker bench` through Run.
package app
