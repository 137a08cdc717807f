package strictjson

import (
	"errors"
	"testing"
)

func TestDecode(t *testing.T) {
	type T struct {
		A string `json:"a"`
	}
	for in, ok := range map[string]bool{
		`{"a":"x"}`:        true,
		" {\"a\":\"x\"}\n": true,
		`{"a":"x"}}`:       false,
		`{"a":"x"}]`:       false,
		`{"a":"x"} {}`:     false,
		`{"b":"x"}`:        false,
		`{"a":1}`:          false,
		`{"a":`:            false,
		``:                 false,
	} {
		var v T
		err := Decode([]byte(in), &v)
		if (err == nil) != ok {
			t.Errorf("Decode(%q) = %v, want ok=%v", in, err, ok)
		}
	}
	var v T
	if err := Decode([]byte(`{"a":"x"} x`), &v); !errors.Is(err, ErrTrailing) {
		t.Errorf("trailing: %v", err)
	}
}
