package broker

import (
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrRefused wraps a connection RabbitMQ refused for the worker's credentials or vhost: no
// retry fixes it, an operator does (the worker keeps retrying, so that a fixed secret or a vhost
// created later is taken up without a restart).
var ErrRefused = errors.New("RabbitMQ refused the connection")

// explainDial says what a failed dial means and what to fix; the error wraps ErrRefused when
// RabbitMQ refused the login (403) or the vhost (530). rawURL's password never appears in it.
func explainDial(err error, rawURL string) error {
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case amqp.AccessRefused:
			return fmt.Errorf("%w: %d %s: check the user and password in EVENTWORKER_AMQP_URL (or its _FILE), and that the user exists (rabbitmqctl list_users)",
				ErrRefused, ae.Code, redact(ae.Reason, rawURL))
		case amqp.NotAllowed:
			return fmt.Errorf("%w: %d %s: create the vhost (rabbitmqctl add_vhost) and let the user use it (rabbitmqctl set_permissions -p VHOST USER '.*' '.*' '.*'), or fix the vhost, the URL's path, in EVENTWORKER_AMQP_URL",
				ErrRefused, ae.Code, redact(ae.Reason, rawURL))
		}
	}
	return fmt.Errorf("RabbitMQ unreachable: %s: check the host and port in EVENTWORKER_AMQP_URL and that RabbitMQ is up", redact(err.Error(), rawURL))
}
