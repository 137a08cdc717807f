package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/bmc"
)

func TestDecodeMachineBMC(t *testing.T) {
	m, err := DecodeMachine([]byte(`{"name":"node1","mac":"52:54:00:89:d8:10","bmc":{"type":"ipmi","address":"10.0.9.11","username":"admin","password_file":"/etc/provisiond/bmc/node1"}}`))
	if err != nil || m.BMC == nil || m.BMC.Type != bmc.IPMI || m.BMC.PasswordFile != "/etc/provisiond/bmc/node1" {
		t.Fatalf("%+v %v", m, err)
	}
	for _, tc := range []struct{ json, want string }{
		// an inline password is refused: only a file or a variable names it
		{`{"name":"n","mac":"52:54:00:89:d8:10","bmc":{"type":"ipmi","address":"10.0.9.11","password":"calvin"}}`, `"password"`},
		{`{"name":"n","mac":"52:54:00:89:d8:10","bmc":{"type":"ipmi","address":"10.0.9.11"}}`, "bmc.password_file or bmc.password_env"},
		{`{"name":"n","mac":"52:54:00:89:d8:10","bmc":{"type":"amt","address":"x","password_env":"P"}}`, "bmc.type"},
	} {
		_, err := DecodeMachine([]byte(tc.json))
		if !errors.Is(err, ErrInvalidMachine) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "calvin") {
			t.Errorf("%s: error %v, want one naming %s", tc.json, err, tc.want)
		}
	}
}
