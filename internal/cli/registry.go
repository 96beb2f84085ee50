package cli

import (
	"context"
	"errors"
	"flag"
	"strings"
)

// registryCommands is the table of "eventworker registry" subcommands; each gets the group's
// --registry, which it may also set after its own name.
func registryCommands(file *registryFile) []command {
	sub := func(fn func(context.Context, *env, string, []string, *registryFile) int) func(context.Context, *env, string, []string) int {
		return func(ctx context.Context, e *env, path string, args []string) int { return fn(ctx, e, path, args, file) }
	}
	return []command{
		{name: "lint", summary: "Check the registry's content: examples, versions, consumers, decoders", run: sub(runRegistryLint)},
		{name: "validate", summary: "Validate events (JSON lines) against the registry, one verdict a line", run: sub(runRegistryValidate)},
		{name: "docs", summary: "Write (or --check) the Markdown catalogue and the AsyncAPI document", run: sub(runRegistryDocs)},
		{name: "show", summary: "List the event types, or show one type's versions and consumers", run: sub(runRegistryShow)},
	}
}

func runRegistry(ctx context.Context, e *env, path string, args []string) int {
	file := &registryFile{}
	if v := e.getenv(registryFileEnv); v != "" {
		file.path, file.origin = v, registryFileEnv
	}
	table := registryCommands(file)
	var list strings.Builder
	writeCommandList(&list, table)
	f := newFlags(path, "Usage: "+path+" [--registry FILE] <command> [flags] [arguments]\n\n"+
		"Works with the event registry, the shop's event contract in machine-readable form. The\n"+
		"registry built into this binary is used unless --registry or $"+registryFileEnv+" names a file.\n\n"+
		"Commands:\n"+list.String()+"\n"+
		"Run '"+path+" <command> --help' for a command's flags and arguments.")
	file.register(f)
	// The group's flags stop at the subcommand's name; the subcommand parses the rest.
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.printUsage(e.stdout)
			return exitOK
		}
		return e.usageError(path, "%v; valid flags: %s", err, f.flagNames())
	}
	return dispatch(ctx, e, path, table, f.Args())
}
