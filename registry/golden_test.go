package registry

import "flag"

// update rewrites golden files instead of comparing with them: go test ./registry -update.
var update = flag.Bool("update", false, "rewrite golden files")
