package profiles

import (
	"strings"
	"testing"
)

// A Container Linux Config (matchbox before v0.10) has no variant: the
// error says what it is and what to do.
func TestContainerLinuxConfigHint(t *testing.T) {
	clc := "---\nsystemd:\n  units:\n    - name: installer.service\n      enable: true\nstorage:\n  files:\n    - path: /opt/installer\n      filesystem: root\n"
	_, _, err := ButaneToIgnition([]byte(clc))
	if err == nil || !strings.Contains(err.Error(), "Container Linux Config") || !strings.Contains(err.Error(), "variant") {
		t.Fatalf("err = %v", err)
	}
}
