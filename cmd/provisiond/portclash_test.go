package main

import (
	"strings"
	"testing"
)

// TestCheckPortClash: two listeners on one port are refused up front,
// naming both flags; distinct ports, distinct hosts and port 0 are not.
func TestCheckPortClash(t *testing.T) {
	for _, tc := range []struct {
		name, addr, admin, rpc string
		want                   string // "" for no error
	}{
		{"certs init's line against the default admin", "127.0.0.1:8080", "127.0.0.1:8081", "0.0.0.0:8081",
			"--admin-addr 127.0.0.1:8081 and --rpc-addr 0.0.0.0:8081: both listen on port 8081; give one another port (with --rpc-addr on matchbox's port 8081, move the admin API: --admin-addr 127.0.0.1:8082)"},
		{"empty host is every host", ":8080", "127.0.0.1:8080", "", "--addr :8080 and --admin-addr 127.0.0.1:8080: both listen on port 8080"},
		{"same host", "10.0.0.5:9000", "", "10.0.0.5:9000", "--addr 10.0.0.5:9000 and --rpc-addr 10.0.0.5:9000"},
		{"admin moved", "127.0.0.1:8080", "127.0.0.1:8082", "0.0.0.0:8081", ""},
		{"distinct hosts", "127.0.0.1:8080", "127.0.0.2:8080", "", ""},
		{"port 0 twice", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", ""},
		{"admin off", "0.0.0.0:8081", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := serveConfig{Addr: tc.addr, AdminAddr: tc.admin}
			cfg.RPC.Addr = tc.rpc
			err := checkPortClash(&cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("%v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("%v, want %q", err, tc.want)
			}
		})
	}
}
