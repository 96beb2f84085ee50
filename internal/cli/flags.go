package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// flags is one command's flag.FlagSet with its usage text.
type flags struct {
	*flag.FlagSet
	path string
	// usage is printed above the flags: a synopsis line and what the command does.
	usage string
}

// newFlags returns an empty flag set for the command at path. Parse errors are reported by
// parse, not by the flag package, so that --help goes to stdout and mistakes to stderr.
func newFlags(path, usage string) *flags {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{FlagSet: fs, path: path, usage: usage}
}

// printUsage writes the usage text and the flags.
func (f *flags) printUsage(w io.Writer) {
	fmt.Fprint(w, strings.TrimRight(f.usage, "\n")+"\n")
	has := false
	f.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprint(w, "\nFlags:\n")
		f.VisitAll(func(fl *flag.Flag) { writeFlag(w, fl) })
		fmt.Fprint(w, "  --help\n    \tshow this help\n")
	}
}

// writeFlag prints one flag as flag.PrintDefaults does, but with two dashes, the way the
// commands are documented (the flag package takes one or two).
func writeFlag(w io.Writer, fl *flag.Flag) {
	arg, usage := flag.UnquoteUsage(fl)
	line := "  --" + fl.Name
	if arg != "" {
		line += " " + arg
	}
	line += "\n    \t" + usage
	if fl.DefValue != "" && fl.DefValue != "false" {
		line += fmt.Sprintf(" (default %q)", fl.DefValue)
	}
	fmt.Fprintln(w, line)
}

// parse parses args, letting flags and arguments come in any order ("validate events.jsonl
// --json" as well as "validate --json events.jsonl"); after "--" everything is an argument. It
// returns the arguments, or ok=false and the exit status when the command must stop: 0 after
// printing the usage for --help, 2 after reporting a bad flag.
func (f *flags) parse(e *env, args []string) (positional []string, status int, ok bool) {
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printUsage(e.stdout)
				return nil, exitOK, false
			}
			return nil, e.usageError(f.path, "%v; valid flags: %s", err, f.flagNames()), false
		}
		rest := f.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), exitOK, true
		}
		if len(rest) == 0 {
			return positional, exitOK, true
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// flagNames lists the flags as the user would type them, for error messages.
func (f *flags) flagNames() string {
	var out []string
	f.VisitAll(func(fl *flag.Flag) { out = append(out, "--"+fl.Name) })
	out = append(out, "--help")
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// noArgs rejects arguments for a command that takes none; it returns ok=false and the exit status
// when there are some.
func (f *flags) noArgs(e *env, args []string) (int, bool) {
	if len(args) > 0 {
		return e.usageError(f.path, "unexpected argument %q: this command takes flags only", args[0]), false
	}
	return exitOK, true
}

// parseFlagsOnly parses args for a command that takes flags and no arguments.
func (f *flags) parseFlagsOnly(e *env, args []string) (int, bool) {
	rest, status, ok := f.parse(e, args)
	if !ok {
		return status, false
	}
	return f.noArgs(e, rest)
}
