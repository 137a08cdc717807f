package inventory

import (
	"errors"
	"reflect"
	"testing"
)

// TestNewRecorderFrom: a recorder built from a walk holds what one built
// from the same machines at once holds, and a walk's error is returned.
func TestNewRecorderFrom(t *testing.T) {
	var ms []Machine
	for _, m := range decodeMachines() {
		if m.Key != "" {
			ms = append(ms, m)
		}
	}
	// Each machine as a store gives it: decoded from what AppendJSON
	// wrote, a copy of its own.
	walk := func(yield func(Machine) error) error {
		for _, m := range ms {
			b, err := m.AppendJSON(nil)
			if err != nil {
				continue
			}
			d, err := DecodeMachine(b)
			if err != nil {
				return err
			}
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}
	var decoded []Machine
	if err := walk(func(m Machine) error { decoded = append(decoded, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(decoded) < 10 {
		t.Fatalf("only %d machines to load", len(decoded))
	}
	want := NewRecorder(nil, decoded, nil)
	got, err := NewRecorderFrom(nil, walk, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := got.List(), want.List(); !reflect.DeepEqual(g, w) {
		t.Errorf("from a walk:\n%+v\nat once:\n%+v", g, w)
	}
	for _, m := range decoded {
		g, ok := got.Get(m.Key)
		w, _ := want.Get(m.Key)
		if !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("%s from a walk: %+v, %v; at once: %+v", m.Key, g, ok, w)
		}
	}

	stop := errors.New("the store failed")
	r, err := NewRecorderFrom(nil, func(yield func(Machine) error) error {
		if err := yield(decoded[0]); err != nil {
			return err
		}
		return stop
	}, nil)
	if r != nil || err != stop {
		t.Errorf("NewRecorderFrom of a failing walk: %v, %v; want nil, %v", r, err, stop)
	}
}
