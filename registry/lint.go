package registry

import (
	"errors"
	"fmt"
	"slices"
)

// Lint checks the registry's content: every example validates and every invalid example fails at
// each pointer it names, versions run 1..n without gaps, each version has examples of both kinds,
// every consumer an event names is defined and every defined consumer receives an event, and the
// Go side has a decoder for every version. It returns every problem found, or nil.
func (r *Registry) Lint() []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	used := map[string]bool{}
	for _, name := range r.names {
		t := r.types[name]
		if t.Description == "" {
			add("%s: no description", name)
		}
		if len(t.Consumers) == 0 {
			add("%s: no consumer reacts to it", name)
		}
		for _, c := range t.Consumers {
			used[c] = true
			if _, ok := r.consumers[c]; !ok {
				add("%s: consumer %q is not defined under consumers", name, c)
			}
		}
		for i, v := range t.Versions {
			if v.Version != i+1 {
				add("%s: versions must run 1..n without gaps, found v%d where v%d belongs", name, v.Version, i+1)
			}
			problems = append(problems, r.lintVersion(v)...)
		}
	}
	for _, c := range r.Consumers() {
		if !used[c] {
			add("consumer %q receives no event", c)
		}
	}
	return problems
}

func (r *Registry) lintVersion(v *EventVersion) []error {
	var problems []error
	where := fmt.Sprintf("%s v%d", v.Type, v.Version)
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(where+": "+format, args...))
	}
	if !HasDecoder(v.Type, v.Version) {
		add("the Go side has no decoder (add one to registry/decode.go)")
	}
	if len(v.Examples) == 0 {
		add("no valid example")
	}
	if len(v.Invalid) == 0 {
		add("no invalid example")
	}
	for _, ex := range v.Examples {
		ev, err := r.Validate(v.Type, ex.Event)
		if err != nil {
			add("example %q does not validate: %v", ex.Name, err)
			continue
		}
		if ev.Type != v.Type || ev.Version != v.Version {
			add("example %q is %s v%d, listed under %s", ex.Name, ev.Type, ev.Version, where)
		}
	}
	for _, ex := range v.Invalid {
		if ex.Reason == "" || len(ex.Errors) == 0 {
			add("invalid example %q needs a reason and the pointers (errors) where it must fail", ex.Name)
		}
		rk := ex.RoutingKey
		if rk == "" {
			rk = v.Type
		}
		_, err := r.Validate(rk, ex.Event)
		var verr *ValidationError
		if !errors.As(err, &verr) {
			add("invalid example %q validates, but must fail: %s", ex.Name, ex.Reason)
			continue
		}
		for _, p := range ex.Errors {
			if !verr.HasPointer(p) {
				add("invalid example %q fails, but not at %s as its reason says (%s); failures: %s", ex.Name, p, ex.Reason, verr.Reason())
			}
		}
		if verr.EventType != "" && verr.EventType != v.Type || verr.Version != 0 && verr.Version != v.Version {
			if !slices.Contains(ex.Errors, "/event_type") && !slices.Contains(ex.Errors, "/event_version") {
				add("invalid example %q is %s v%d, listed under %s", ex.Name, verr.EventType, verr.Version, where)
			}
		}
	}
	return problems
}
