// Package httplisten runs an http.Server on a listener of its own from Start to Shutdown: the
// life cycle that the worker's HTTP listeners (metrics and probes, the debug listener) share.
package httplisten
