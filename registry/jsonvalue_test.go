package registry

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodeStd is what parseValue must agree with: encoding/json's Decoder with UseNumber, and no
// content after the value.
func decodeStd(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if dec.More() {
		return nil, false
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return nil, false
	}
	return v, true
}

var parseSeeds = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e-3`, `true`, `false`, `null`, ` {"a" : [1, 2 ,{"b":null}] } `,
	`{"a":"x\"y\\z\/\b\f\n\r\t"}`, `{"a":"\u00e9"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud800"}`,
	`{"a":1,"a":2}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":-}`, `{"a":1}x`, `{"a":1}{}`,
	`{"a":"tab	in"}`, `{"a" "b"}`, `{"a":1,}`, `[1,]`, `{,}`, `tru`, `nul`, `"é"`, `{"é":"ü"}`,
	`{"event_id":"2775daad-71c5-4e80-a7cf-54509e646edc","event_type":"product.updated","event_version":1,"data":{"price":22.5}}`,
	strings.Repeat("[", 600) + strings.Repeat("]", 600),
}

func TestParseValueAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range parseSeeds {
		checkParse(t, []byte(s))
	}
}

func FuzzParseValue(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return // Validate refuses invalid UTF-8 before parsing
		}
		checkParse(t, b)
	})
}

// checkParse: whatever parseValue accepts, encoding/json accepts with the same value.
func checkParse(t *testing.T, b []byte) {
	t.Helper()
	got, ok := parseValue(b)
	if !ok {
		return // encoding/json decides
	}
	want, stdOK := decodeStd(b)
	if !stdOK {
		t.Fatalf("parseValue accepted %q, which encoding/json refuses", b)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseValue(%q) = %#v, encoding/json %#v", b, got, want)
	}
}

// TestParseValueTakesTheUsualBodies: the registry's examples all go the fast way.
func TestParseValueTakesTheUsualBodies(t *testing.T) {
	r := mustDefault(t)
	for _, name := range r.Types() {
		typ, _ := r.Type(name)
		for _, v := range typ.Versions {
			for _, ex := range v.Examples {
				if _, ok := parseValue(ex.Event); !ok {
					t.Errorf("%s v%d example %q: parseValue refused it", name, v.Version, ex.Name)
				}
			}
		}
	}
}
