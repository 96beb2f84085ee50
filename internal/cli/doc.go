// Package cli is the eventworker command line: the command table, flag parsing, help and exit
// codes. cmd/eventworker only hands it the arguments and a context that ends on SIGINT or
// SIGTERM.
//
// Every command is one entry of the explicit table in commands.go (no init-time registration),
// parses its flags with its own flag.FlagSet, prints its usage to stdout on --help and exits 0,
// and reports a usage mistake on stderr, naming the valid commands or flags, with exit status 2.
// A command that ran and found a problem (an invalid event, a lint failure, stale docs) exits 1.
package cli
