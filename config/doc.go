// Package config reads the worker's configuration from environment variables and flags.
//
// Every setting has an environment variable (EVENTWORKER_*), a flag that overrides it, a default
// and a line of help; secrets (the AMQP and Redis URLs) may also come from a file named by the
// variable with a _FILE suffix, as Docker and Kubernetes secrets are mounted. Validate lists every
// problem at once, and Redacted renders the effective configuration with passwords removed.
package config
