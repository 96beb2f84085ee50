// Package deploy holds no code: it is the home of eventworker's deployment files (the Grafana
// dashboard, the Prometheus configuration and alert rules, the Kubernetes manifests) and of the
// tests that check them, the Dockerfile and compose.yaml against the worker itself. See
// README.md in this directory.
package deploy
