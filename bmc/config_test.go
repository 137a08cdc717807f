package bmc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		err  string // substring naming the field; "" when valid
	}{
		{"ipmi", Config{Type: IPMI, Address: "10.0.0.5", Username: "admin", PasswordFile: "/etc/pw"}, ""},
		{"ipmi with port", Config{Type: IPMI, Address: "10.0.0.5:6230", PasswordEnv: "PW"}, ""},
		{"ipv6", Config{Type: IPMI, Address: "[fd00::5]:623", PasswordEnv: "PW"}, ""},
		{"redfish host", Config{Type: Redfish, Address: "bmc1.example", PasswordEnv: "PW", Insecure: true}, ""},
		{"redfish url", Config{Type: Redfish, Address: "https://bmc1.example:8443", PasswordEnv: "PW"}, ""},
		{"redfish http", Config{Type: Redfish, Address: "http://127.0.0.1:8000", PasswordEnv: "PW"}, ""},
		{"no type", Config{Address: "x", PasswordEnv: "PW"}, "bmc.type is required"},
		{"bad type", Config{Type: "amt", Address: "x", PasswordEnv: "PW"}, `bmc.type "amt"`},
		{"no address", Config{Type: IPMI, PasswordEnv: "PW"}, "bmc.address is required"},
		{"address with a path", Config{Type: Redfish, Address: "https://bmc/redfish/v1", PasswordEnv: "PW"}, "bmc.address"},
		{"address with a user", Config{Type: Redfish, Address: "https://root:calvin@bmc", PasswordEnv: "PW"}, "bmc.address"},
		{"ftp", Config{Type: Redfish, Address: "ftp://bmc", PasswordEnv: "PW"}, "bmc.address"},
		{"ipmi url", Config{Type: IPMI, Address: "https://bmc", PasswordEnv: "PW"}, "bmc.address"},
		{"no password", Config{Type: IPMI, Address: "x"}, "bmc.password_file or bmc.password_env is required"},
		{"both passwords", Config{Type: IPMI, Address: "x", PasswordFile: "f", PasswordEnv: "PW"}, "give one of them"},
		{"insecure ipmi", Config{Type: IPMI, Address: "x", PasswordEnv: "PW", Insecure: true}, "bmc.insecure"},
		{"long ipmi user", Config{Type: IPMI, Address: "x", PasswordEnv: "PW", Username: strings.Repeat("u", 17)}, "bmc.username"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want ErrConfig naming %q", err, tc.err)
			}
		})
	}
}

// TestSecretNeverShows: printing, logging or marshaling credentials never
// shows the password.
func TestSecretNeverShows(t *testing.T) {
	const pw = "hunter2-very-secret"
	cred := Credentials{Username: "admin", Password: Secret(pw)}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "cred", cred, "pw", cred.Password)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "cred", cred, "pw", cred.Password)
	js, err := json.Marshal(cred)
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]string{
		"%v": fmt.Sprintf("%v", cred), "%+v": fmt.Sprintf("%+v", cred), "%#v": fmt.Sprintf("%#v", cred),
		"%s": fmt.Sprintf("%s", cred.Password), "%q": fmt.Sprintf("%q", cred.Password), "%x": fmt.Sprintf("%x", cred.Password),
		"json": string(js), "log": logged.String(),
	}
	for how, out := range outs {
		if strings.Contains(out, pw) || strings.Contains(out, fmt.Sprintf("%x", pw)) {
			t.Errorf("%s shows the password: %s", how, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s: %s, want [redacted]", how, out)
		}
	}
	if string(cred.Password) != pw {
		t.Error("the secret itself changed")
	}
}

func TestSource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROVISIOND_TEST_BMC_PW", "from-env")
	var s Source
	cred, err := s.Credentials(Config{Username: "u", PasswordFile: file})
	if err != nil || string(cred.Password) != "from-file" || cred.Username != "u" {
		t.Fatalf("file: %+v %v", string(cred.Password), err)
	}
	cred, err = s.Credentials(Config{PasswordEnv: "PROVISIOND_TEST_BMC_PW"})
	if err != nil || string(cred.Password) != "from-env" {
		t.Fatalf("env: %v", err)
	}
	_, err = s.Credentials(Config{PasswordEnv: "PROVISIOND_TEST_BMC_UNSET"})
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "PROVISIOND_TEST_BMC_UNSET") {
		t.Errorf("unset env: %v", err)
	}
	_, err = s.Credentials(Config{PasswordFile: filepath.Join(dir, "missing")})
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "bmc.password_file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"on", "OFF", "cycle", "status"} {
		if _, err := ParseOp(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseOp("reboot"); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("ParseOp(reboot): %v", err)
	}
	if d, err := ParseBootDevice("pxe"); err != nil || d != Network {
		t.Errorf("pxe: %v %v", d, err)
	}
	if _, err := ParseBootDevice("cdrom"); err == nil {
		t.Error("cdrom accepted")
	}
}
