package cli

import (
	"flag"
	"fmt"
	"github.com/eventworker/eventworker/config"
	"io"
	"os"
)

// Exit statuses, the same for every command.
const (
	exitOK    = 0 // success
	exitFail  = 1 // the command ran and found a problem, or could not do its work
	exitUsage = 2 // the command line was wrong: unknown command or flag, wrong arguments
)

// env is what a command may touch of the outside world; tests replace it.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// environ lists the environment as KEY=value pairs, for the check of unknown EVENTWORKER_
	// variables; nil checks nothing.
	environ func() []string
	// exit ends the process (os.Exit); only a shutdown past its deadline calls it.
	exit func(code int)
}

func osEnv(stdout, stderr io.Writer) *env {
	return &env{stdin: os.Stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, environ: os.Environ, exit: os.Exit}
}

// loadConfig loads the configuration from the environment and fs, refusing unknown
// EVENTWORKER_ variables, and with check (when not nil) reports what it finds with the rest.
func (e *env) loadConfig(fs *flag.FlagSet, check func(*config.Config) error) (*config.Config, error) {
	var environ []string
	if e.environ != nil {
		environ = e.environ()
	}
	opts := []config.LoadOption{config.RefuseUnknown(environ)}
	if check != nil {
		opts = append(opts, config.Also(check))
	}
	return config.Load(e.getenv, fs, opts...)
}

// fail reports that the command at path could not do its work and returns exitFail.
func (e *env) fail(path string, err error) int {
	fmt.Fprintf(e.stderr, "%s: %v\n", path, err)
	return exitFail
}

// usageError reports a mistake in the command line with a hint where to look, and returns
// exitUsage.
func (e *env) usageError(path, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "%s: %s\nRun '%s --help' for usage.\n", path, fmt.Sprintf(format, args...), path)
	return exitUsage
}
