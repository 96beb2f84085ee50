package app

import (
	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/field"
	"github.com/eventworker/eventworker/internal/worker"
)

// WorkerConfig maps the environment's settings onto the worker's own configuration.
func WorkerConfig(cfg *config.Config) worker.Config {
	return worker.Config{
		AMQPURL: cfg.AMQPURL, QueuePrefix: cfg.QueuePrefix, QueueType: cfg.QueueType,
		DeliveryLimit: cfg.DeliveryLimit, RetryDelays: cfg.RetryDelays,
		Concurrency: cfg.Concurrency, ConsumerConcurrency: cfg.ConsumerConcurrency, Prefetch: cfg.Prefetch,
		HandlerTimeout: cfg.HandlerTimeout, QuickRetries: cfg.QuickRetries, QuickBackoff: cfg.QuickBackoff,
		ShutdownTimeout: cfg.ShutdownTimeout, MaxBodyBytes: cfg.MaxBodyBytes,
		PauseAfter: cfg.PauseAfter, PauseMax: cfg.PauseMax,
	}
}

// workerSettings names, for each field of worker.Config, the setting that sets it, so the
// worker's own validation speaks the operator's words.
var workerSettings = map[string]string{
	"AMQPURL": "EVENTWORKER_AMQP_URL", "QueuePrefix": "EVENTWORKER_QUEUE_PREFIX", "QueueType": "EVENTWORKER_QUEUE_TYPE",
	"DeliveryLimit": "EVENTWORKER_DELIVERY_LIMIT", "RetryDelays": "EVENTWORKER_RETRY_DELAYS",
	"Concurrency": "EVENTWORKER_CONCURRENCY", "ConsumerConcurrency": "EVENTWORKER_CONSUMER_CONCURRENCY",
	"Prefetch": "EVENTWORKER_PREFETCH", "HandlerTimeout": "EVENTWORKER_HANDLER_TIMEOUT",
	"QuickRetries": "EVENTWORKER_RETRY_QUICK", "QuickBackoff": "EVENTWORKER_RETRY_BACKOFF",
	"ShutdownTimeout": "EVENTWORKER_SHUTDOWN_TIMEOUT", "MaxBodyBytes": "EVENTWORKER_MAX_BODY_BYTES",
	"PauseAfter": "EVENTWORKER_PAUSE_AFTER", "PauseMax": "EVENTWORKER_PAUSE_MAX",
}

// checkWorker validates the worker's configuration as cfg sets it, in the settings' names.
func checkWorker(cfg *config.Config) error {
	return field.Rename(WorkerConfig(cfg).Validate(), workerSettings)
}
