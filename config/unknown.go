package config

import (
	"fmt"
	"slices"
	"strings"
)

// envPrefix starts every variable of the worker's.
const envPrefix = "EVENTWORKER_"

// knownNonSettings are EVENTWORKER_ variables that are not settings: the project's test suite's
// (EVENTWORKER_TEST_*) and the benchmark's child process's.
func knownNonSetting(name string) bool {
	return strings.HasPrefix(name, envPrefix+"TEST_") || name == envPrefix+"BENCH_CHILD"
}

// knownVariables are the settings' variables and, for secrets, their _FILE forms.
func knownVariables() []string {
	var out []string
	for _, s := range settings {
		out = append(out, s.env)
		if s.secret {
			out = append(out, s.env+"_FILE")
		}
	}
	return out
}

// unknownVariables returns an error for every EVENTWORKER_ variable of environ that is no
// setting, with the nearest known name.
func unknownVariables(environ []string) []error {
	known := knownVariables()
	var errs []error
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) || slices.Contains(known, name) || knownNonSetting(name) {
			continue
		}
		if near := nearest(name, known); near != "" {
			errs = append(errs, fmt.Errorf("%s is not a setting: did you mean %s? (every setting: eventworker config --markdown)", name, near))
		} else {
			errs = append(errs, fmt.Errorf("%s is not a setting (every setting: eventworker config --markdown)", name))
		}
	}
	return errs
}

// nearest returns the candidate closest to name by edit distance, if it is close enough to be
// a likely misspelling (at most a third of its length away).
func nearest(name string, candidates []string) string {
	best, bestDist := "", len(name)/3+1
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, with a transposition of two
// neighbouring letters counting once (AMPQ for AMQP).
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
