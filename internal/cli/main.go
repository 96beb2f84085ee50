package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/eventworker/eventworker/internal/version"
)

// Main runs the eventworker command line with args (without the program name) and returns the
// process's exit status: 0 on success, 1 when the command failed or found a problem, 2 on a
// mistake in the command line. ctx ends the command early (SIGINT, SIGTERM).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, osEnv(stdout, stderr), args)
}

const topUsage = `eventworker consumes the shop's domain events from RabbitMQ and turns them into effects, and
checks events against the shop's event contract (the registry).

Usage:
  eventworker <command> [flags] [arguments]
  eventworker --version
`

func run(ctx context.Context, e *env, args []string) int {
	const path = "eventworker"
	f := newFlags(path, topUsage)
	showVersion := f.Bool("version", false, "print the version and exit")
	// Top-level flags stop at the command's name: what follows belongs to the command.
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeTopUsage(e.stdout)
			return exitOK
		}
		return e.usageError(path, "%v; valid flags: --help, --version; valid commands: %s", err, names(commands()))
	}
	if *showVersion {
		fmt.Fprintln(e.stdout, version.Get())
		return exitOK
	}
	if f.NArg() == 0 {
		fmt.Fprintf(e.stderr, "%s: no command given\n\n", path)
		writeTopUsage(e.stderr)
		return exitUsage
	}
	return dispatch(ctx, e, path, commands(), f.Args())
}

func writeTopUsage(w io.Writer) {
	fmt.Fprint(w, topUsage)
	fmt.Fprint(w, "\nCommands:\n")
	writeCommandList(w, commands())
	fmt.Fprint(w, "\nFlags:\n  -h, --help   show this help\n  --version    print the version and exit\n")
	fmt.Fprint(w, "\nRun 'eventworker <command> --help' for a command's flags and arguments.\n")
}
