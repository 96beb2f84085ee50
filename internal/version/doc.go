// Package version tells which build of eventworker is running: the release version, the VCS
// revision it was built from and the Go version, for `eventworker --version`, logs and metrics.
//
// A release sets the version at link time:
//
//	go build -ldflags "-X github.com/eventworker/eventworker/internal/version.Version=v1.2.3" ./cmd/eventworker
//
// Without it the version comes from the module's build information (a `go install ...@v1.2.3`
// or a build in a VCS checkout stamps one), else it is "dev".
package version
