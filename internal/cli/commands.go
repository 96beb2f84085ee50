package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// command is one entry of a command table.
type command struct {
	name string
	// summary is the one line shown in the parent's command list.
	summary string
	// run runs the command; path is how the user called it ("eventworker registry lint"), for
	// messages. It returns the exit status.
	run func(ctx context.Context, e *env, path string, args []string) int
}

// commands is eventworker's command table; a new subcommand (run, dlq, preview, demo, stats,
// config, healthcheck, inspect) is one more entry here. It is a function, not a variable,
// because help refers back to the table.
func commands() []command {
	return []command{
		{name: "run", summary: "Run the worker: consume every consumer's queue until SIGTERM", run: runRun},
		{name: "dlq", summary: dlqSummary, run: func(ctx context.Context, e *env, path string, args []string) int {
			if err := runDLQ(ctx, args, e.stdout, e.stderr, e); err != nil {
				return e.fail(path, err)
			}
			return exitOK
		}},
		{name: "preview", summary: previewSummary, run: runPreview},
		{name: "demo", summary: demoSummary, run: runDemo},
		{name: "stats", summary: statsSummary, run: runStats},
		{name: "bench", summary: benchSummary, run: runBench},
		{name: "config", summary: "Print the effective configuration, passwords redacted", run: runConfig},
		{name: "relay", summary: relaySummary, run: runRelay},
		{name: "healthcheck", summary: healthcheckSummary, run: runHealthcheck},
		{name: "inspect", summary: inspectSummary, run: runInspect},
		{name: "registry", summary: "Check the event registry, validate events against it, generate its docs", run: runRegistry},
		{name: "version", summary: "Print the version of this binary", run: runVersion},
		{name: "help", summary: "Show the help of a command, e.g. 'eventworker help registry validate'", run: runHelp},
	}
}

// find returns the command called name.
func find(table []command, name string) (command, bool) {
	for _, c := range table {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// names lists a table's command names, for "valid commands are ..." messages.
func names(table []command) string {
	out := make([]string, len(table))
	for i, c := range table {
		out[i] = c.name
	}
	return strings.Join(out, ", ")
}

// writeCommandList prints a table's commands with their summaries, aligned.
func writeCommandList(w io.Writer, table []command) {
	width := 0
	for _, c := range table {
		width = max(width, len(c.name))
	}
	for _, c := range table {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
}

// dispatch runs the command of table named by args[0]: the shared step of every command group.
func dispatch(ctx context.Context, e *env, path string, table []command, args []string) int {
	if len(args) == 0 {
		return e.usageError(path, "no command given; valid commands: %s", names(table))
	}
	c, ok := find(table, args[0])
	if !ok {
		return e.usageError(path, "unknown command %q; valid commands: %s", args[0], names(table))
	}
	return c.run(ctx, e, path+" "+c.name, args[1:])
}
