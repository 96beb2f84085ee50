// Package localtransport carries a worker's messages inside one process, with RabbitMQ's
// semantics where the worker depends on them (work, retry and dead-letter queues, redelivery of
// what was not acknowledged, a delivery limit, unroutable publishes), for the demo, which runs
// with no outside service, and for tests. Nothing survives the process.
package localtransport
