package cli

import "context"

// runHelp shows the help of the command named by args, as "<command> --help" would:
// "eventworker help registry validate" is "eventworker registry validate --help".
func runHelp(ctx context.Context, e *env, path string, args []string) int {
	f := newFlags(path, "Usage: "+path+" [command [subcommand]]\n\nShows the help of a command, or the list of commands.\n")
	rest, status, ok := f.parse(e, args)
	if !ok {
		return status
	}
	if len(rest) == 0 {
		writeTopUsage(e.stdout)
		return exitOK
	}
	if rest[0] == "help" {
		f.printUsage(e.stdout)
		return exitOK
	}
	if _, ok := find(commands(), rest[0]); !ok {
		return e.usageError(path, "unknown command %q; valid commands: %s", rest[0], names(commands()))
	}
	// Every command answers --help itself; an unknown subcommand is reported by its group.
	return run(ctx, e, append(append([]string{}, rest...), "--help"))
}
