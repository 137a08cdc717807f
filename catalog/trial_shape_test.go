package catalog

import (
	"testing"

	"github.com/provisiond/provisiond/profiles"
)

// TestTrialShapesMatchDataShape: the shapes trialRenders keeps for
// trialLimits are dataShape of profiles.Data and of profiles.BootData
// with the trial token, also when metadata has a boot_token of its own.
func TestTrialShapesMatchDataShape(t *testing.T) {
	for _, md := range []map[string]any{
		nil,
		{"hostname": "node-1", "keys": []any{"a b"}, "n": 3.0},
		{"boot_token": "mine", "x": map[string]any{"y": "z-1"}},
	} {
		in := profiles.Input{Metadata: md, Selector: map[string]string{"mac": "52:54:00:00:00:01"}, ServerURL: trialServerURL, BootToken: trialBootToken}
		got := trialShapes(profiles.Data(in))
		if want := dataShape(profiles.Data(in)); got.data != want {
			t.Errorf("metadata %v: data shape %x, want %x", md, got.data, want)
		}
		if want := dataShape(profiles.BootData(in)); got.boot != want {
			t.Errorf("metadata %v: boot shape %x, want %x", md, got.boot, want)
		}
	}
}
