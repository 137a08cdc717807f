package catalog

import (
	"strings"
	"testing"
)

// TestShaperLongStringsCached: the shaper's cache of long strings gives
// stringShape's answer for a string met again (the same bytes), for
// another string of the same length and different content, and for
// strings that fall in the same slot; short strings are shaped as they
// are.
func TestShaperLongStringsCached(t *testing.T) {
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz0bM7wq4Vd1rL0aT2x3s5cYwqf8m1n2b3v4c5x6z7a ops@example.com"
	other := strings.Replace(key, "ops@example", "true  false", 1) // same length, other words
	if len(other) != len(key) {
		t.Fatal("test strings differ in length")
	}
	var inputs []string
	for i := range 200 {
		inputs = append(inputs, key, other, strings.Repeat("x", 32+i%7)+" yes 12 "+strings.Repeat("9", i%40))
	}
	inputs = append(inputs, "short", "on", "52:54:00:00:00:7b", "ON")
	var sh shaper
	for round := range 2 {
		for _, s := range inputs {
			want := string(stringShape(nil, s))
			got := string(sh.appendStringShape([]byte("prefix"), s))
			if got != "prefix"+want {
				t.Fatalf("round %d, %q: shaped %q, want %q", round, s, got, "prefix"+want)
			}
		}
	}
	if string(stringShape(nil, key)) == string(stringShape(nil, other)) {
		t.Fatal("the two keys have one shape: the test would not see a wrong cache hit")
	}
}

// TestIsYAMLWord: the first-letter check lets every YAML word through, in
// any case, and nothing else.
func TestIsYAMLWord(t *testing.T) {
	for w := range yamlWords {
		for _, v := range []string{w, strings.ToUpper(w), strings.ToUpper(w[:1]) + w[1:]} {
			if !isYAMLWord(v) {
				t.Errorf("isYAMLWord(%q) = false", v)
			}
		}
	}
	for _, w := range []string{"52", "7b", "a", "node", "x", "tru", "nul", "offf"} {
		if isYAMLWord(w) {
			t.Errorf("isYAMLWord(%q) = true", w)
		}
	}
}
