package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
	"github.com/provisiond/provisiond/storage/etcd"
)

// storeConfig selects the storage backend (docs/etcd.md).
type storeConfig struct {
	Kind      string // bolt or etcd
	Endpoints string // comma-separated etcd client URLs
	Prefix    string
	CertFile  string
	KeyFile   string
	CAFile    string
}

func storeFlags(fs *flag.FlagSet, c *storeConfig) {
	fs.StringVar(&c.Kind, "store", "bolt", "storage `backend`: bolt (one file under --data-dir, one process) or etcd (--etcd-endpoints; any number of replicas, docs/etcd.md)")
	fs.StringVar(&c.Endpoints, "etcd-endpoints", "", "with --store etcd: comma-separated etcd client `URLs` (http://10.0.0.11:2379,...; https:// with TLS)")
	fs.StringVar(&c.Prefix, "etcd-prefix", etcd.DefaultPrefix, "with --store etcd: key `prefix` of this deployment; replicas that share it share catalog, leases and inventory")
	fs.StringVar(&c.CertFile, "etcd-cert", "", "with --store etcd: client certificate `file` (PEM)")
	fs.StringVar(&c.KeyFile, "etcd-key", "", "with --store etcd: client certificate key `file` (PEM)")
	fs.StringVar(&c.CAFile, "etcd-ca", "", "with --store etcd: CA certificate `file` (PEM) that signed the etcd members' certificates")
}

// checkStore validates the store flags, naming the flag.
func checkStore(c *storeConfig) error {
	switch c.Kind {
	case "bolt":
		for name, v := range map[string]string{"etcd-endpoints": c.Endpoints, "etcd-cert": c.CertFile, "etcd-key": c.KeyFile, "etcd-ca": c.CAFile} {
			if v != "" {
				return fmt.Errorf("--%s is set but --store is bolt (add --store etcd)", name)
			}
		}
		return nil
	case "etcd":
	default:
		return fmt.Errorf("--store %q: want bolt or etcd", c.Kind)
	}
	if c.Endpoints == "" {
		return fmt.Errorf("--store etcd needs --etcd-endpoints")
	}
	tls := c.CertFile != "" || c.KeyFile != "" || c.CAFile != ""
	for _, e := range c.endpoints() {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--etcd-endpoints: %q is not an http:// or https:// URL", e)
		}
		if tls && u.Scheme != "https" {
			return fmt.Errorf("--etcd-endpoints: %q is not https:// but TLS files are given", e)
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("--etcd-cert and --etcd-key go together")
	}
	for name, path := range map[string]string{"etcd-cert": c.CertFile, "etcd-key": c.KeyFile, "etcd-ca": c.CAFile} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
	}
	return nil
}

func (c *storeConfig) endpoints() []string {
	var out []string
	for e := range strings.SplitSeq(c.Endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// openStore opens the backend --store names. An error names the flag to
// look at.
func openStore(ctx context.Context, c storeConfig, dataDir string, log *slog.Logger) (storage.Store, error) {
	if c.Kind != "etcd" {
		s, err := bolt.Open(dataDir)
		if err != nil {
			return nil, fmt.Errorf("--data-dir: %w", err)
		}
		return s, nil
	}
	s, err := etcd.Open(ctx, etcd.Config{Endpoints: c.endpoints(), Prefix: c.Prefix,
		CertFile: c.CertFile, KeyFile: c.KeyFile, CAFile: c.CAFile})
	if err != nil {
		return nil, fmt.Errorf("--etcd-endpoints: %w", err)
	}
	log.Info("store: etcd", "endpoints", c.Endpoints, "prefix", s.Prefix())
	return s, nil
}

// followStore keeps catalogs current with the changes other replicas make
// to a shared store, until ctx is done; a store only this process writes
// (bolt) needs nothing. The returned function waits for it to stop.
// after (when not nil) runs after each reload of the stored catalog.
func followStore(ctx context.Context, store storage.Store, catalogs *storage.Catalogs, log *slog.Logger, after func()) (wait func()) {
	w, ok := store.(storage.Watcher)
	if !ok {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		catalogs.FollowThen(ctx, w, log.With("component", "store-watch"), after)
	}()
	return func() { <-done }
}

// storeName names the store for clients' 503 messages: "bbolt file PATH"
// or "etcd".
func storeName(s storage.Store) string {
	if b, ok := s.(*bolt.Store); ok {
		return "bbolt file " + b.Path()
	}
	return "etcd"
}

// backupHandler is the admin API's GET /api/v1/backup: the bbolt store's
// consistent copy; nil for etcd, whose own snapshots are its backup.
func backupHandler(s storage.Store) http.Handler {
	if b, ok := s.(*bolt.Store); ok {
		return b.BackupHandler()
	}
	return nil
}
