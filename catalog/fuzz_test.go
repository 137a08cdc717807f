package catalog

import (
	"encoding/json"
	"errors"
	"testing"
)

func FuzzDecodeMachine(f *testing.F) {
	for _, s := range []string{
		`{"name":"node1","mac":"52:54:00:89:d8:10","uuid":"11111111-2222-3333-4444-555555555555","labels":{"role":"services"},"leases":{"services":"10.0.0.101"}}`,
		`{"name":"n","uuid":"11111111-2222-3333-4444-555555555555"}`,
		`{"name":"n","mac":"5254.0089.d810","leases":{"v6":"fd00::1"}}`,
		`{"name":"n","mac":"xx"}`, `{"name":"n","mac":"52:54:00:89:d8:10","labels":{"MAC":"x"}}`, `{}`, `{"name":"n"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMachine(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidMachine) {
				t.Fatalf("error not wrapping ErrInvalidMachine: %v", err)
			}
			return
		}
		if m.Name == "" || m.MAC == "" && m.UUID == "" {
			t.Fatalf("accepted a machine without name or identity: %+v", m)
		}
		// Normalization is idempotent: the stored form decodes to itself.
		b, _ := json.Marshal(m)
		m2, err := DecodeMachine(b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		b2, _ := json.Marshal(m2)
		if string(b) != string(b2) {
			t.Fatalf("not idempotent:\n%s\n%s", b, b2)
		}
	})
}
