package cli

import (
	"context"
	"fmt"

	"github.com/eventworker/eventworker/internal/version"
)

// runVersion prints "eventworker <version> (<revision>, <go version>)", as --version does.
func runVersion(_ context.Context, e *env, path string, args []string) int {
	f := newFlags(path, "Usage: "+path+"\n\nPrints the version of this binary, the VCS revision it was built from and the Go version.\n")
	if status, ok := f.parseFlagsOnly(e, args); !ok {
		return status
	}
	fmt.Fprintln(e.stdout, version.Get())
	return exitOK
}
