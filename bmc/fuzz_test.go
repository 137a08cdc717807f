package bmc

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzConfig: any JSON a registration may carry decodes and validates
// without a panic; an invalid one wraps ErrConfig; a valid one has an
// address the drivers can dial.
func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		`{"type":"ipmi","address":"10.0.0.5","password_env":"P"}`,
		`{"type":"redfish","address":"https://[fd00::1]:8443","password_file":"/x","insecure":true}`,
		`{"type":"redfish","address":"http://h:0","password_env":"P"}`,
		`{"type":"ipmi","address":"[::1","password_env":"P"}`,
		`{"type":"ipmi","address":"h:99999","password_env":"P"}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Config
		if json.Unmarshal(data, &c) != nil {
			return
		}
		err := c.Validate()
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error not wrapping ErrConfig: %v", err)
			}
			return
		}
		hp, scheme, err := c.hostPort()
		if err != nil || hp == "" || (scheme != "https" && scheme != "http") {
			t.Fatalf("valid %+v: %q %q %v", c, hp, scheme, err)
		}
		if c.String() != string(c.Type)+" "+c.Address {
			t.Fatalf("String says more than the type and address: %s", c)
		}
	})
}
