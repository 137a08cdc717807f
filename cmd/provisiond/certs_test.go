package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCertsInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	var out, errb bytes.Buffer
	if rc := run([]string{"certs", "init", dir, "--server-name", "matchbox.example.com", "--ip", "10.0.0.5, 127.0.0.1"}, &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	for _, want := range []string{`provider "matchbox"`, `endpoint    = "matchbox.example.com:8081"`, `client_cert = file("` + dir + `/client.crt")`, "--rpc-ca " + dir + "/ca.crt"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, f := range []string{"ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	tests := []struct {
		name string
		args []string
		rc   int
		want string
	}{
		{"again", []string{"certs", "init", dir, "--server-name", "x"}, 1, "exists"},
		{"no server name", []string{"certs", "init", t.TempDir()}, 2, "--server-name is required"},
		{"bad ip", []string{"certs", "init", t.TempDir(), "--server-name", "x", "--ip", "10.0.0"}, 2, `--ip "10.0.0"`},
		{"no dir", []string{"certs", "init", "--server-name", "x"}, 2, "certs init DIR"},
		{"unknown sub-verb", []string{"certs", "renew", "d", "--server-name", "x"}, 2, "certs init DIR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if rc := run(tc.args, &out, &errb); rc != tc.rc || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("rc %d, stderr %q; want %d and %q", rc, errb.String(), tc.rc, tc.want)
			}
		})
	}
}
