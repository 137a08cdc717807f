package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestMatchboxArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string
		used bool
		err  string
	}{
		{"ours only", []string{"--addr", ":8080", "--catalog", "d"}, []string{"--addr", ":8080", "--catalog", "d"}, false, ""},
		{"matchbox's", []string{"-address", "0.0.0.0:8080", "-data-path=/var/lib/matchbox", "--rpc-address", ":8081"},
			[]string{"--addr", "0.0.0.0:8080", "--catalog=/var/lib/matchbox", "--rpc-addr", ":8081"}, true, ""},
		{"certificates", []string{"-cert-file", "s.crt", "-key-file", "s.key", "-ca-file", "ca.crt", "-assets-path", "a"},
			[]string{"--rpc-cert", "s.crt", "--rpc-key", "s.key", "--rpc-ca", "ca.crt", "--assets-dir", "a"}, true, ""},
		{"log level is both", []string{"-log-level", "debug"}, []string{"-log-level", "debug"}, false, ""},
		{"after --", []string{"--", "-address"}, []string{"--", "-address"}, false, ""},
		{"key ring", []string{"-address", "x", "-key-ring-path=/r"}, nil, false, "-key-ring-path: provisiond does not sign"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, used, err := matchboxArgs(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || used != tc.used || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q %v %v, want %q %v", got, used, err, tc.want, tc.used)
			}
		})
	}
}

// TestMatchboxEnvPrecedence: the command line wins over PROVISIOND_*,
// which wins over MATCHBOX_*; matchbox's defaults fill only what is unset.
func TestMatchboxEnvPrecedence(t *testing.T) {
	env := map[string]string{
		"MATCHBOX_ADDRESS":     "0.0.0.0:8080",
		"MATCHBOX_RPC_ADDRESS": "0.0.0.0:8081",
		"MATCHBOX_LOG_LEVEL":   "debug",
		"MATCHBOX_CA_FILE":     "/etc/mb/ca.crt",
		"PROVISIOND_LOG_LEVEL": "warn",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var cfg serveConfig
	fs := serveFlags(&cfg)
	if err := parseWithEnv(fs, []string{"--addr", "127.0.0.1:9"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	mode, notes, err := matchboxEnv(fs, &cfg, false, lookup)
	if err != nil || !mode {
		t.Fatalf("matchboxEnv: %v %v", mode, err)
	}
	want := rpcConfig{Addr: "0.0.0.0:8081"}
	want.TLS.Cert, want.TLS.Key, want.TLS.CA = "/etc/matchbox/server.crt", "/etc/matchbox/server.key", "/etc/mb/ca.crt"
	if cfg.Addr != "127.0.0.1:9" || cfg.LogLevel != "warn" || cfg.RPC != want || cfg.Catalog != "/var/lib/matchbox" ||
		cfg.DataDir != "/var/lib/matchbox/.provisiond" || cfg.AdminAddr != "127.0.0.1:8082" {
		t.Errorf("config %+v", cfg)
	}
	if got := strings.Join(notes, " "); got != "--catalog=/var/lib/matchbox --data-dir=/var/lib/matchbox/.provisiond --rpc-cert=/etc/matchbox/server.crt --rpc-key=/etc/matchbox/server.key --admin-addr=127.0.0.1:8082" {
		t.Errorf("notes %s", got)
	}

	// Without any matchbox flag or variable, nothing changes.
	var plain serveConfig
	fs = serveFlags(&plain)
	if err := parseWithEnv(fs, nil, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if mode, _, err := matchboxEnv(fs, &plain, false, func(string) (string, bool) { return "", false }); mode || err != nil || plain.Catalog != "" || plain.AdminAddr != "127.0.0.1:8081" {
		t.Errorf("plain: %v %v %+v", mode, err, plain)
	}
}
