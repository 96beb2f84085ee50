// Command eventworker consumes the shop's domain events from RabbitMQ and turns them into
// effects, and checks events against the shop's event contract. All of its logic is in package
// internal/cli; run `eventworker --help` for the commands.
package main
