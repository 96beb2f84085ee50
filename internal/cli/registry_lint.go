package cli

import (
	"context"
	"fmt"

	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/worker/handling"
)

func runRegistryLint(_ context.Context, e *env, path string, args []string, file *registryFile) int {
	f := newFlags(path, "Usage: "+path+" [--registry FILE]\n\n"+
		"Checks the registry's content: every valid example validates and every invalid one fails\n"+
		"where it says; versions run 1..n; each version has examples of both kinds; every consumer\n"+
		"named is defined and receives an event; the Go side can decode every version; and each\n"+
		"built-in handler handles exactly the event types the registry maps to its consumer.\n\n"+
		"Prints each problem on its own line and exits 1 when there is any; otherwise prints a\n"+
		"summary and exits 0.")
	file.register(f)
	if status, ok := f.parseFlagsOnly(e, args); !ok {
		return status
	}
	reg, err := file.load()
	if err != nil {
		return e.fail(path, err)
	}
	var problems []string
	for _, p := range reg.Lint() {
		problems = append(problems, p.Error())
	}
	// The built-in handlers, as `run` builds them: each must handle exactly what the registry
	// maps to its consumer.
	problems = append(problems, handling.Mismatches(reg, handlers.All(handlers.Deps{}))...)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(e.stdout, p)
		}
		return e.fail(path, fmt.Errorf("%d problem(s) in %s", len(problems), file.describe()))
	}
	versions := 0
	for _, name := range reg.Types() {
		t, err := reg.Type(name)
		if err != nil {
			return e.fail(path, err)
		}
		versions += len(t.Versions)
	}
	fmt.Fprintf(e.stdout, "registry OK: %d event types, %d versions, %d consumers\n",
		len(reg.Types()), versions, len(reg.Consumers()))
	return exitOK
}
