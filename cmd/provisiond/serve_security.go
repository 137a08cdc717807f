package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/tokenfile"
	"github.com/provisiond/provisiond/profiles"
	"github.com/provisiond/provisiond/server"
)

// securityConfig is the boot listener's TLS, the boot tokens and the
// resource limits of `provisiond serve` (SECURITY.md).
type securityConfig struct {
	TLSCert              string
	TLSKey               string
	BootSecretFile       string
	BootTokenTTL         time.Duration
	MaxInflightPerClient int
	MaxOutputBytes       int
	RenderTimeout        time.Duration
	AdminMaxBodyBytes    int64
	MaxLabels            int
}

func addSecurityFlags(fs *flag.FlagSet, cfg *securityConfig) {
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate `file` of the boot listener (HTTPS; re-read on SIGHUP). iPXE builds without HTTPS need plain HTTP")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key `file` of the boot listener (re-read on SIGHUP)")
	fs.StringVar(&cfg.BootSecretFile, "boot-secret-file", "", "`file` of boot token secrets, one per line (the first signs, any verifies; re-read on SIGHUP).\nWith it, {{ .boot_token }} in profile boot fields is a token bound to the machine's mac and\n/ignition, /cloud, /generic and /metadata answer 403 without a valid token=")
	fs.DurationVar(&cfg.BootTokenTTL, "boot-token-ttl", server.DefaultBootTokenTTL, "how long a boot token stays valid (at least; at most 1.25 times)")
	fs.IntVar(&cfg.MaxInflightPerClient, "max-inflight-per-client", server.DefaultMaxInflightPerClient, "requests one client address may have in flight on the boot listener (429 beyond); 0: no bound")
	fs.IntVar(&cfg.MaxOutputBytes, "max-output-bytes", profiles.DefaultMaxOutput, "largest rendered template in `bytes` (a larger one fails: 500 at boot, refused at load)")
	fs.IntVar(&cfg.MaxLabels, "max-labels", groups.MaxLabels, fmt.Sprintf("most query parameters (labels) of a boot request (400 beyond; at most %d)", groups.MaxLabels))
	fs.Int64Var(&cfg.AdminMaxBodyBytes, "admin-max-body-bytes", 8<<20, "largest admin API request body in `bytes` (413 beyond; a whole catalog may be 8 times as large)")
	fs.DurationVar(&cfg.RenderTimeout, "render-timeout", profiles.DefaultRenderTimeout, "longest time one template may take to render (500 at boot, refused at load)")
}

// checkSecurity checks the flags up front, naming them.
func checkSecurity(c *securityConfig) error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
	}
	if c.BootSecretFile != "" {
		if _, err := readBootSecrets(c.BootSecretFile); err != nil {
			return err
		}
	}
	if c.BootTokenTTL < 4*time.Second {
		return fmt.Errorf("--boot-token-ttl %s: at least 4s", c.BootTokenTTL)
	}
	if c.MaxInflightPerClient < 0 {
		return fmt.Errorf("--max-inflight-per-client %d: 0 (no bound) or positive", c.MaxInflightPerClient)
	}
	if c.MaxOutputBytes <= 0 {
		return fmt.Errorf("--max-output-bytes %d: must be positive", c.MaxOutputBytes)
	}
	if c.MaxLabels <= 0 || c.MaxLabels > groups.MaxLabels {
		return fmt.Errorf("--max-labels %d: between 1 and %d", c.MaxLabels, groups.MaxLabels)
	}
	if c.AdminMaxBodyBytes <= 0 {
		return fmt.Errorf("--admin-max-body-bytes %d: must be positive", c.AdminMaxBodyBytes)
	}
	if c.RenderTimeout <= 0 {
		return fmt.Errorf("--render-timeout %s: must be positive", c.RenderTimeout)
	}
	return nil
}

func readBootSecrets(path string) ([]string, error) {
	secrets, err := tokenfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("--boot-secret-file: %w", err)
	}
	return secrets, nil
}

// bootTokens returns the boot token issuer, nil without --boot-secret-file.
func bootTokens(c securityConfig, log *slog.Logger) (*server.BootTokens, error) {
	if c.BootSecretFile == "" {
		return nil, nil
	}
	secrets, err := readBootSecrets(c.BootSecretFile)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(c.BootSecretFile); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("the boot secret file is readable by other users: chmod 600 it", "file", c.BootSecretFile, "mode", st.Mode().Perm().String())
	}
	log.Info("boot tokens on: the config endpoints need the token /ipxe hands out", "ttl", c.BootTokenTTL, "secrets", len(secrets))
	return server.NewBootTokens(secrets, c.BootTokenTTL), nil
}

// reloadBootSecrets re-reads --boot-secret-file on SIGHUP; a file that no
// longer reads keeps the previous secrets.
func reloadBootSecrets(c securityConfig, bt *server.BootTokens, log *slog.Logger) {
	if bt == nil {
		return
	}
	secrets, err := readBootSecrets(c.BootSecretFile)
	if err != nil {
		log.Error("boot secret file reload refused; keeping the previous secrets", "err", err)
		return
	}
	bt.SetSecrets(secrets)
	log.Info("boot secrets reloaded", "secrets", len(secrets))
}

// certReloader serves a listener's certificate from an atomically swapped
// pointer, so that SIGHUP can replace it while connections are accepted.
type certReloader struct {
	certFile, keyFile, flags string
	cur                      atomic.Pointer[tls.Certificate]
}

// newCertReloader loads the pair; flags names the flags in errors.
func newCertReloader(certFile, keyFile, flags string) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, flags: flags}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flags, err)
	}
	c.cur.Store(&cert)
	return c, nil
}

// reload re-reads the pair; a pair that does not load keeps the previous
// certificate and logs why.
func (c *certReloader) reload(log *slog.Logger) {
	if c == nil {
		return
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		log.Error("certificate reload refused; keeping the previous certificate", "flags", c.flags, "err", err)
		return
	}
	c.cur.Store(&cert)
	log.Info("certificate reloaded", "flags", c.flags, "file", c.certFile)
}

func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// use makes tc serve the reloader's certificate.
func (c *certReloader) use(tc *tls.Config) *tls.Config {
	tc.Certificates = nil
	tc.GetCertificate = c.getCertificate
	return tc
}

// bootTLS returns the boot listener's TLS config and certificate, nil
// without --tls-cert.
func bootTLS(c securityConfig) (*tls.Config, *certReloader, error) {
	if c.TLSCert == "" {
		return nil, nil, nil
	}
	r, err := newCertReloader(c.TLSCert, c.TLSKey, "--tls-cert/--tls-key")
	if err != nil {
		return nil, nil, err
	}
	return r.use(&tls.Config{MinVersion: tls.VersionTLS12}), r, nil
}
