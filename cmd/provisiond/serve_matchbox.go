package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// matchboxFlags are matchbox v0.11.0's flags that `provisiond serve`
// takes, with the flag each one sets. Each is also read from matchbox's
// variable (MATCHBOX_ADDRESS, MATCHBOX_DATA_PATH, ...), so that a matchbox
// unit file or container spec works with only the binary's name changed.
var matchboxFlags = []struct{ matchbox, serve string }{
	{"address", "addr"},
	{"rpc-address", "rpc-addr"},
	{"data-path", "catalog"},
	{"assets-path", "assets-dir"},
	{"cert-file", "rpc-cert"},
	{"key-file", "rpc-key"},
	{"ca-file", "rpc-ca"},
	{"log-level", "log-level"},
}

// matchboxHelp is serve's help line for them.
const matchboxHelp = `matchbox's flags are accepted: -address (--addr), -rpc-address (--rpc-addr),
-data-path (--catalog), -assets-path (--assets-dir), -cert-file, -key-file,
-ca-file (--rpc-cert, --rpc-key, --rpc-ca), -log-level, and the MATCHBOX_*
variables; with them, matchbox's defaults apply (docs/terraform.md).`

// Where matchbox looks when it is not told (its flags' defaults).
const (
	matchboxDataPath = "/var/lib/matchbox"
	matchboxCertDir  = "/etc/matchbox"
	// matchboxAdminAddr is the admin API's address in matchbox mode:
	// matchbox's gRPC API is usually on 8081, the admin API's default.
	matchboxAdminAddr = "127.0.0.1:8082"
)

var errKeyRing = errors.New("provisiond does not sign its answers (matchbox's .sig and .asc endpoints): remove it; serve the boot endpoints over HTTPS with --tls-cert and --tls-key instead")

// matchboxArgs rewrites matchbox's flags in args (-address ADDR,
// --data-path=DIR) to serve's, and reports whether there was one.
// -key-ring-path is refused.
func matchboxArgs(args []string) ([]string, bool, error) {
	out := make([]string, 0, len(args))
	used := false
	for i, a := range args {
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if !strings.HasPrefix(a, "-") { // a flag's value
			out = append(out, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "key-ring-path" {
			return nil, false, fmt.Errorf("-key-ring-path: %w", errKeyRing)
		}
		for _, f := range matchboxFlags {
			if name == f.matchbox && f.matchbox != f.serve {
				a, used = "--"+f.serve, true
				if hasValue {
					a += "=" + value
				}
			}
		}
		out = append(out, a)
	}
	return out, used, nil
}

// matchboxEnv sets, from matchbox's variables, each flag of fs that is
// not set on the command line or by its PROVISIOND_* variable, and then,
// when any matchbox flag or variable was used (matchbox mode), matchbox's
// defaults (see matchboxDefaults). It reports whether it is matchbox mode
// and the defaults it chose, for the log. lookup nil reads the
// environment.
func matchboxEnv(fs *flag.FlagSet, cfg *serveConfig, flagsUsed bool, lookup func(string) (string, bool)) (bool, []string, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := lookup(envName(f.Name)); ok {
			explicit[f.Name] = true
		}
	})
	if v, _ := lookup("MATCHBOX_KEY_RING_PATH"); v != "" {
		return false, nil, fmt.Errorf("MATCHBOX_KEY_RING_PATH: %w", errKeyRing)
	}
	used := flagsUsed
	for _, f := range matchboxFlags {
		name := "MATCHBOX_" + strings.ToUpper(strings.ReplaceAll(f.matchbox, "-", "_"))
		v, _ := lookup(name)
		if v == "" { // as matchbox: an empty variable is not set
			continue
		}
		used = true
		if explicit[f.serve] {
			continue
		}
		if err := fs.Set(f.serve, v); err != nil {
			return false, nil, fmt.Errorf("environment variable %s=%q: %v", name, v, err)
		}
		explicit[f.serve] = true
	}
	if !used {
		return false, nil, nil
	}
	return true, matchboxDefaults(cfg, explicit), nil
}

// matchboxDefaults gives what no flag or variable set matchbox's
// defaults: the catalog is /var/lib/matchbox (its assets/ served), the
// gRPC API's files are /etc/matchbox/server.crt, server.key and ca.crt,
// and the database is kept in the catalog directory's .provisiond/ (the
// one directory matchbox's user can write). The admin API moves to
// 127.0.0.1:8082, off matchbox's usual gRPC port.
func matchboxDefaults(cfg *serveConfig, explicit map[string]bool) []string {
	var notes []string
	set := func(flagName string, v *string, value string) {
		if !explicit[flagName] {
			*v = value
			notes = append(notes, "--"+flagName+"="+value)
		}
	}
	set("catalog", &cfg.Catalog, matchboxDataPath)
	if cfg.Catalog != "" {
		set("data-dir", &cfg.DataDir, filepath.Join(cfg.Catalog, ".provisiond"))
	}
	if cfg.RPC.Addr != "" {
		set("rpc-cert", &cfg.RPC.TLS.Cert, filepath.Join(matchboxCertDir, "server.crt"))
		set("rpc-key", &cfg.RPC.TLS.Key, filepath.Join(matchboxCertDir, "server.key"))
		set("rpc-ca", &cfg.RPC.TLS.CA, filepath.Join(matchboxCertDir, "ca.crt"))
	}
	if cfg.AdminAddr != "" {
		if _, port, _ := net.SplitHostPort(cfg.AdminAddr); port == "8081" {
			set("admin-addr", &cfg.AdminAddr, matchboxAdminAddr)
		}
	}
	return notes
}

// prepareMatchboxCatalog makes a matchbox data directory that holds no
// catalog yet (a fresh one that Terraform fills, often with assets/ only)
// a catalog directory, as matchbox creates its subdirectories on the
// first write.
func prepareMatchboxCatalog(dir string) error {
	for _, sub := range []string{"profiles", "groups", "pools", "machines"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
			return nil
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil // checkConfig names the problem
	}
	for _, sub := range []string{"profiles", "groups"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("-data-path %s: %w", dir, err)
		}
	}
	return nil
}
