package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/eventworker/eventworker/registry"
)

func runRegistryShow(_ context.Context, e *env, path string, args []string, file *registryFile) int {
	f := newFlags(path, "Usage: "+path+" [--registry FILE] [TYPE]\n\n"+
		"Without TYPE, lists the event types with their versions and consumers, and the consumers\n"+
		"with the events they receive. With TYPE (e.g. order.created), shows that type: its\n"+
		"description, consumers, latest version and what each version is.")
	file.register(f)
	rest, status, ok := f.parse(e, args)
	if !ok {
		return status
	}
	if len(rest) > 1 {
		return e.usageError(path, "takes at most one event type, got %d arguments", len(rest))
	}
	reg, err := file.load()
	if err != nil {
		return e.fail(path, err)
	}
	if len(rest) == 0 {
		return showAll(e, reg)
	}
	t, err := reg.Type(rest[0])
	if errors.Is(err, registry.ErrUnknownType) {
		return e.fail(path, fmt.Errorf("unknown event type %q; the registry has: %s", rest[0], strings.Join(reg.Types(), ", ")))
	}
	if err != nil {
		return e.fail(path, err)
	}
	showType(e, reg, t)
	return exitOK
}

func showAll(e *env, reg *registry.Registry) int {
	fmt.Fprintf(e.stdout, "exchange %s: %d event types, %d consumers\n\n", reg.Exchange(), len(reg.Types()), len(reg.Consumers()))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tVERSIONS\tCONSUMERS")
	for _, name := range reg.Types() {
		t, err := reg.Type(name)
		if err != nil {
			continue // Types lists only known types
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, versionList(t), strings.Join(t.Consumers, ", "))
	}
	_ = tw.Flush()
	fmt.Fprintln(e.stdout)
	tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONSUMER\tEVENTS")
	for _, c := range reg.Consumers() {
		fmt.Fprintf(tw, "%s\t%s\n", c, strings.Join(reg.EventsOf(c), ", "))
	}
	_ = tw.Flush()
	return exitOK
}

func showType(e *env, reg *registry.Registry, t *registry.EventType) {
	w := e.stdout
	fmt.Fprintf(w, "%s: %s\n", t.Name, t.Description)
	fmt.Fprintf(w, "routing key: %s on exchange %s\n", t.Name, reg.Exchange())
	fmt.Fprintf(w, "latest:      v%d\n", t.Latest().Version)
	fmt.Fprintln(w, "consumers:")
	for _, c := range t.Consumers {
		desc, _ := reg.ConsumerDescription(c)
		fmt.Fprintf(w, "  %s: %s\n", c, desc)
	}
	fmt.Fprintln(w, "versions:")
	for _, v := range t.Versions {
		fmt.Fprintf(w, "  v%d: %s (%d valid and %d invalid examples)\n", v.Version, v.Description, len(v.Examples), len(v.Invalid))
	}
}

func versionList(t *registry.EventType) string {
	out := make([]string, len(t.Versions))
	for i, v := range t.Versions {
		out[i] = fmt.Sprintf("v%d", v.Version)
	}
	return strings.Join(out, ", ")
}
