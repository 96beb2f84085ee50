package cli

import (
	"context"

	"github.com/eventworker/eventworker/internal/app"

	"github.com/eventworker/eventworker/config"
)

// runConfig prints the effective configuration, passwords redacted, or the README's table.
func runConfig(_ context.Context, e *env, path string, args []string) int {
	f := newFlags(path, "Usage: "+path+" [flags] [--markdown]\n\n"+
		"Prints the effective configuration (environment, *_FILE secrets and flags applied), one\n"+
		"VAR=value a line, with passwords redacted. It checks what run would, before run connects\n"+
		"(settings, unknown EVENTWORKER_ variables, the registry, the Redis and mail URLs, CA files,\n"+
		"template overrides), and reports every problem at once with a non-zero exit. --markdown prints the table of every setting instead.")
	markdown := f.Bool("markdown", false, "print the table of settings, as README.md has it")
	config.RegisterFlags(f.FlagSet)
	if status, ok := f.parseFlagsOnly(e, args); !ok {
		return status
	}
	if *markdown {
		if err := config.MarkdownTable(e.stdout); err != nil {
			return e.fail(path, err)
		}
		return exitOK
	}
	cfg, err := e.loadConfig(f.FlagSet, app.Check)
	if err != nil {
		return e.fail(path, err)
	}
	if err := cfg.Print(e.stdout); err != nil {
		return e.fail(path, err)
	}
	return exitOK
}
