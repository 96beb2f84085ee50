package registry

import (
	"regexp"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// patternMatchers are hand-written matchers for the patterns of the registry's shared
// definitions and envelope, which every event checks several times: each says exactly what
// regexp's MatchString says for its pattern (a test holds them to it), at a fraction of the
// cost. Any other pattern goes to the regexp package.
var patternMatchers = map[string]func(string) bool{
	`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`: isIdentifier,
	`^[A-Z]{3}$`:                          isCurrencyCode,
	`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`: isLocaleTag,
	`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`:  isEventTypeName,
}

// compilePattern is the registry's jsonschema regexp engine.
func compilePattern(pattern string) (jsonschema.Regexp, error) {
	if m, ok := patternMatchers[pattern]; ok {
		if _, err := regexp.Compile(pattern); err == nil {
			return matcher{pattern: pattern, match: m}, nil
		}
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return re, nil
}

type matcher struct {
	pattern string
	match   func(string) bool
}

func (m matcher) MatchString(s string) bool { return m.match(s) }
func (m matcher) String() string            { return m.pattern }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlnum(c byte) bool { return isUpper(c) || isLower(c) || isDigit(c) }

func isIdentifier(s string) bool {
	if len(s) < 1 || len(s) > 128 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}

func isCurrencyCode(s string) bool {
	return len(s) == 3 && isUpper(s[0]) && isUpper(s[1]) && isUpper(s[2])
}

func isLocaleTag(s string) bool {
	i := 0
	for i < len(s) && (isUpper(s[i]) || isLower(s[i])) {
		i++
	}
	if i < 2 || i > 8 {
		return false
	}
	for i < len(s) {
		if s[i] != '-' {
			return false
		}
		i++
		start := i
		for i < len(s) && isAlnum(s[i]) {
			i++
		}
		if n := i - start; n < 1 || n > 8 {
			return false
		}
	}
	return true
}

func isEventTypeName(s string) bool {
	dot := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if dot >= 0 {
				return false
			}
			dot = i
		case isLower(c):
		case isDigit(c) || c == '_':
			if i == 0 || i == dot+1 {
				return false
			}
		default:
			return false
		}
	}
	return dot > 0 && dot < len(s)-1 && isLower(s[0]) && isLower(s[dot+1])
}
