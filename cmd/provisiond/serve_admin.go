package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/provisiond/provisiond/admin"
	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/tokenfile"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/resolve"
	"github.com/provisiond/provisiond/server"
)

// adminConfig is how `provisiond serve` secures the admin API.
type adminConfig struct {
	TokenFile string
	ClientCA  string
	TLSCert   string
	TLSKey    string
}

func addAdminFlags(fs *flag.FlagSet, cfg *adminConfig) {
	fs.StringVar(&cfg.TokenFile, "admin-token-file", "", "`file` of admin API bearer tokens, one per line (# comments); re-read on SIGHUP")
	fs.StringVar(&cfg.ClientCA, "admin-client-ca", "", "PEM `file` of the CAs whose client certificates the admin API accepts (mTLS; needs --admin-tls-cert and --admin-tls-key)")
	fs.StringVar(&cfg.TLSCert, "admin-tls-cert", "", "PEM certificate `file` of the admin listener (HTTPS)")
	fs.StringVar(&cfg.TLSKey, "admin-tls-key", "", "PEM private key `file` of the admin listener")
}

// authConfigured reports whether the admin API authenticates its callers.
func (c adminConfig) authConfigured() bool { return c.TokenFile != "" || c.ClientCA != "" }

// checkAdmin checks the admin flags up front, naming them: files readable,
// TLS complete, and authentication on any address that is not loopback.
func checkAdmin(addr string, c adminConfig) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--admin-addr %q: %v", addr, err)
	}
	if !isLoopback(host) && !c.authConfigured() {
		return fmt.Errorf("--admin-addr %q is not a loopback address: configure authentication with --admin-token-file or --admin-client-ca (with --admin-tls-cert and --admin-tls-key)", addr)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--admin-tls-cert and --admin-tls-key go together")
	}
	if c.ClientCA != "" && c.TLSCert == "" {
		return errors.New("--admin-client-ca needs --admin-tls-cert and --admin-tls-key: client certificates are checked over TLS")
	}
	if c.TokenFile != "" {
		if _, err := tokenfile.Read(c.TokenFile); err != nil {
			return fmt.Errorf("--admin-token-file: %w", err)
		}
	}
	if _, err := adminTLS(c); err != nil {
		return err
	}
	return nil
}

// adminTLS returns the admin listener's TLS config, nil without TLS.
func adminTLS(c adminConfig) (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("--admin-tls-cert/--admin-tls-key: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.ClientCA != "" {
		pem, err := os.ReadFile(c.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("--admin-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--admin-client-ca %s: no PEM certificate in the file", c.ClientCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
		if c.TokenFile != "" {
			// Either credential suffices: a token over TLS, or a certificate.
			tc.ClientAuth = tls.VerifyClientCertIfGiven
		}
	}
	return tc, nil
}

// adminAuth returns the admin API's authenticator, nil without
// authentication.
func adminAuth(c adminConfig) (*admin.Auth, error) {
	if !c.authConfigured() {
		return nil, nil
	}
	var tokens []string
	if c.TokenFile != "" {
		var err error
		if tokens, err = tokenfile.Read(c.TokenFile); err != nil {
			return nil, fmt.Errorf("--admin-token-file: %w", err)
		}
	}
	return admin.NewAuth(tokens, c.ClientCA != ""), nil
}

// reloadTokens re-reads --admin-token-file on SIGHUP; a file that no longer
// reads keeps the previous tokens.
func reloadTokens(c adminConfig, auth *admin.Auth, log *slog.Logger) {
	if auth == nil || c.TokenFile == "" {
		return
	}
	tokens, err := tokenfile.Read(c.TokenFile)
	if err != nil {
		log.Error("admin token file reload refused; keeping the previous tokens", "err", err)
		return
	}
	auth.SetTokens(tokens)
	log.Info("admin tokens reloaded", "tokens", len(tokens))
}

// newAdmin builds the admin API handler and its listener's TLS config.
// states is the inventory's state lookup (the recorder has one), for
// render's install once; nil when inv has none.
func states(inv admin.Inventory) resolve.StateReader {
	sr, _ := inv.(resolve.StateReader)
	return sr
}

func newAdmin(cfg serveConfig, log *slog.Logger, catalogs admin.Catalogs, releaser admin.Releaser,
	inv admin.Inventory, table *ipam.Table, bootURL string, reg prometheus.Registerer, tokens *server.BootTokens,
	life admin.Lifecycle, backup http.Handler) (*admin.API, *tls.Config, error) {
	auth, err := adminAuth(cfg.Admin)
	if err != nil {
		return nil, nil, err
	}
	tc, err := adminTLS(cfg.Admin)
	if err != nil {
		return nil, nil, err
	}
	if st, err := os.Stat(cfg.Admin.TokenFile); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("the admin token file is readable by other users: chmod 600 it", "file", cfg.Admin.TokenFile, "mode", st.Mode().Perm().String())
	}
	a := admin.New(admin.Config{
		Logger:     log,
		Catalogs:   catalogs,
		Releaser:   releaser,
		Inventory:  inv,
		Leases:     table,
		Auth:       auth,
		Registry:   reg,
		CatalogDir: cfg.Catalog,
		WritesBack: cfg.Catalog != "", // writeBack (writeback.go)
		BootURL:    bootURL,
		BootTokens: tokens,
		Lifecycle:  life,
		States:     states(inv),
		Backup:     backup,

		MaxBodyBytes: cfg.Security.AdminMaxBodyBytes,
	})
	return a, tc, nil
}

// warnNoAdminAuth warns that the admin API at addr, the address it
// listens on (the real port, not --admin-addr's :0), has no
// authentication.
func warnNoAdminAuth(log *slog.Logger, addr string) {
	log.Warn("the admin API has no authentication: anyone who can reach " + addr + " can change the catalog (loopback only)")
}

// reportOverwrites logs what a directory load overwrote. The directory is
// the source of truth: a load replaces the whole catalog with the
// directory's content, so the admin API's changes since the previous load
// (objects it created, replaced or deleted) are lost unless the directory
// now holds the same. before is the snapshot served until now.
//
// At start there is no previous load to compare with: the stored catalog
// (which holds the previous run's API changes) is compared with the
// directory instead, and every difference is reported.
func (l *catalogLoader) reportOverwrites(before *catalog.Snapshot, loaded *catalog.Catalog) {
	base := l.lastLoaded
	l.lastLoaded = loaded
	var prev *catalog.Catalog
	if before != nil {
		prev = before.Catalog
	} else if base == nil {
		prev = l.stored
	}
	if prev == nil {
		return
	}
	lost := catalog.Diff(prev, loaded)
	var dropped []string
	if base == nil {
		// What the directory adds drops nothing.
		dropped = append(append(dropped, lost.Updated...), lost.Deleted...)
	} else {
		overwritten := map[string]bool{}
		for _, list := range [][]string{lost.Created, lost.Updated, lost.Deleted} {
			for _, ref := range list {
				overwritten[ref] = true
			}
		}
		api := catalog.Diff(base, prev)
		for _, list := range [][]string{api.Created, api.Updated, api.Deleted} {
			for _, ref := range list {
				if overwritten[ref] {
					dropped = append(dropped, ref)
				}
			}
		}
	}
	if len(dropped) == 0 {
		return
	}
	sort.Strings(dropped)
	shown := dropped
	if len(shown) > 20 {
		shown = shown[:20]
	}
	msg := "catalog directory loaded over changes made through the admin API; the directory wins"
	if base == nil {
		msg = "catalog directory loaded over a stored catalog that differed from it; the directory wins"
	}
	l.log.Warn(msg, "dir", l.dir, "dropped", len(dropped), "objects", strings.Join(shown, " "))
}
