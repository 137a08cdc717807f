package bolt

import (
	"encoding/json"
	"testing"

	"github.com/provisiond/provisiond/ipam"
)

// FuzzDecodeLease: whatever bytes a lease record holds (the file may be
// damaged), decodeLease gives exactly what encoding/json gives, error or
// lease.
func FuzzDecodeLease(f *testing.F) {
	for _, seed := range []string{
		`{"pool":"rack1","address":"10.9.0.17","mac":"52:54:00:00:00:01","pinned":false,"created":1764547200}`,
		`{"pool":"v6","address":"fd00::17","mac":"52:54:00:00:00:02","pinned":true,"created":0}`,
		`{"pool":"p","address":"fe80::1%eth0","mac":"m","pinned":true,"created":-1}`,
		`{"pool":"p","address":"10.0.0.1","mac":"m","pinned":false,"created":01}`,
		`{"pool":"p\u00e9","address":"10.0.0.1","mac":"m","pinned":false,"created":+1}`,
		`{"pool":"p","address":"","mac":"m","pinned":false,"created":1}`,
		`null`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want ipam.Lease
		errGot := decodeLease(data, &got)
		errWant := json.Unmarshal(data, &want)
		if (errGot == nil) != (errWant == nil) || got != want {
			t.Fatalf("decodeLease(%q) = %+v, %v; encoding/json: %+v, %v", data, got, errGot, want, errWant)
		}
	})
}
