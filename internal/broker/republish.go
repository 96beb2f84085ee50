package broker

import (
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Headers of the worker's that keep what a copy of a message may not carry as it came.
const (
	// HeaderExpiration keeps the original per-message TTL (the expiration property) of a
	// retried or dead-lettered message, which would otherwise expire its copy; a replay puts
	// it back.
	HeaderExpiration = "x-eventworker-expiration"
	// HeaderUserID keeps the original user-id property, which RabbitMQ lets only that user
	// publish.
	HeaderUserID = "x-eventworker-user-id"
)

// Republish is the copy of delivery d that goes to a retry or dead-letter queue, or back to a
// work queue on a replay: its body and every property as they came (the original timestamp
// too), persistent, with every application header as it came, its AMQP types intact, and the
// worker's replay count, first failure time, first attempt's span and count of returns; not the broker's headers (x-death,
// x-delivery-count) nor the rest of the worker's failure history, which the caller writes anew.
// The expiration and user-id properties, which a copy may not carry, move to HeaderExpiration
// and HeaderUserID (Restore puts them back).
func Republish(d *amqp.Delivery) amqp.Publishing {
	h := ApplicationHeaders(d.Headers)
	for _, k := range []string{HeaderReplayed, HeaderFirstFailure, HeaderFirstAttemptSpan, HeaderReturns, HeaderExpiration, HeaderUserID} {
		if v, ok := d.Headers[k]; ok {
			h[k] = v
		}
	}
	if d.Expiration != "" {
		h[HeaderExpiration] = d.Expiration
	}
	if d.UserId != "" {
		h[HeaderUserID] = d.UserId
	}
	return amqp.Publishing{
		Headers:         h,
		ContentType:     d.ContentType,
		ContentEncoding: d.ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		Priority:        d.Priority,
		CorrelationId:   d.CorrelationId,
		ReplyTo:         d.ReplyTo,
		MessageId:       d.MessageId,
		Timestamp:       d.Timestamp,
		Type:            d.Type,
		AppId:           d.AppId,
		Body:            d.Body,
	}
}

// Restore puts back the expiration that Republish moved to a header, for a replay: the
// message goes back to its work queue as it was first published. The user-id stays in its
// header: RabbitMQ lets only that user publish it.
func Restore(p *amqp.Publishing) {
	if v, ok := p.Headers[HeaderExpiration].(string); ok {
		p.Expiration = v
		delete(p.Headers, HeaderExpiration)
	}
}

// FailureTime formats t as the worker's failure headers carry it.
func FailureTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
