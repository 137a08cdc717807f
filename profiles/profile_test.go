package profiles

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeInstallOnce(t *testing.T) {
	p, err := Decode([]byte(`{"id":"install","boot":{"kernel":"/assets/vmlinuz"},"install_once":true}`))
	if err != nil || !p.InstallOnce {
		t.Fatalf("got %+v, %v", p, err)
	}
	p, err = Decode([]byte(`{"id":"install","boot":{"kernel":"/assets/vmlinuz"}}`))
	if err != nil || p.InstallOnce {
		t.Fatalf("default: got %+v, %v", p, err)
	}
	for _, bad := range []string{
		`{"id":"install","install_once":"true"}`,
		`{"id":"install","install_once":1}`,
		`{"id":"install","installOnce":true}`,
	} {
		_, err := Decode([]byte(bad))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(strings.ToLower(err.Error()), "install") {
			t.Errorf("%s: error %v, want one naming the field", bad, err)
		}
	}
}
