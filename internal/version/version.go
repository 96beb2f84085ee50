package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release version, set with -ldflags "-X .../internal/version.Version=v1.2.3".
// Leave it empty in source: Get falls back to the build information when it is.
var Version string

// Commit is the VCS revision, set with -ldflags "-X .../internal/version.Commit=0123abcd" where
// the build has no VCS information to read (a container build without .git). Empty in source.
var Commit string

// unknown stands for a revision that the build did not record (go run, a build outside a VCS
// checkout, or -buildvcs=false).
const unknown = "unknown"

// Info describes the running binary.
type Info struct {
	// Version is the release version, the module version from the build information, or "dev".
	Version string
	// Revision is the VCS revision, shortened to 12 characters and suffixed with "-dirty" when
	// the work tree had changes, or "unknown".
	Revision string
	// GoVersion is the Go toolchain that built the binary, e.g. go1.26.8.
	GoVersion string
}

// Get returns what is known about the running binary.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	info := fromBuildInfo(Version, bi)
	if Commit != "" {
		info.Revision = shortRevision(Commit)
	}
	return info
}

// Current returns the version of the running binary (Get().Version).
func Current() string { return Get().Version }

// Revision returns the VCS revision of the running binary (Get().Revision).
func Revision() string { return Get().Revision }

// String renders the info as `eventworker --version` prints it:
// "eventworker v1.2.3 (0123456789ab, go1.26.8)".
func (i Info) String() string {
	return fmt.Sprintf("eventworker %s (%s, %s)", i.Version, i.Revision, i.GoVersion)
}

// fromBuildInfo combines the link-time version with the build information; bi may be nil.
func fromBuildInfo(linked string, bi *debug.BuildInfo) Info {
	info := Info{Version: linked, Revision: unknown, GoVersion: runtime.Version()}
	if bi == nil {
		if info.Version == "" {
			info.Version = "dev"
		}
		return info
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	// "(devel)" is what a plain build of the main module records: no version at all.
	if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		rev = shortRevision(rev)
		if dirty {
			rev += "-dirty"
		}
		info.Revision = rev
	}
	return info
}

// shortRevision keeps the first 12 characters of a revision, as git's short form does.
func shortRevision(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
