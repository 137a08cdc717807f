package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/resolve"
	"github.com/provisiond/provisiond/rpc"
)

// rpcConfig is matchbox's gRPC API listener (docs/terraform.md).
type rpcConfig struct {
	Addr string
	TLS  rpc.TLSFiles
}

func rpcFlags(fs *flag.FlagSet, cfg *rpcConfig) {
	fs.StringVar(&cfg.Addr, "rpc-addr", "", "`address` of matchbox's gRPC API (terraform-provider-matchbox, Typhoon); empty disables it. Needs --rpc-cert, --rpc-key and --rpc-ca")
	fs.StringVar(&cfg.TLS.Cert, "rpc-cert", "", "PEM certificate `file` of the gRPC listener ('provisiond certs init' writes one)")
	fs.StringVar(&cfg.TLS.Key, "rpc-key", "", "PEM private key `file` of the gRPC listener")
	fs.StringVar(&cfg.TLS.CA, "rpc-ca", "", "PEM `file` of the CAs whose client certificates the gRPC API accepts (mutual TLS, always required)")
}

// checkRPC refuses, naming the flag, a gRPC listener without all three TLS
// files or with files that do not load.
func checkRPC(cfg rpcConfig) error {
	if cfg.Addr == "" {
		return nil
	}
	if err := checkListenAddr("rpc-addr", cfg.Addr); err != nil {
		return err
	}
	if err := cfg.TLS.Check(); err != nil {
		return fmt.Errorf("--rpc-addr %s: %w", cfg.Addr, err)
	}
	if _, err := cfg.TLS.Config(); err != nil {
		return err
	}
	return nil
}

// startRPC serves matchbox's gRPC API on --rpc-addr, writing through
// catalogs (the catalog-management service) and answering Select through
// the resolution service; it does nothing without --rpc-addr. The server
// is stopped by Stop after the HTTP listeners, and its certificates are
// re-read on SIGHUP.
func (d *daemon) startRPC(catalogs catalogEditor, leases *ipam.Table, reg prometheus.Registerer) error {
	cfg := d.cfg.RPC
	if cfg.Addr == "" {
		return nil
	}
	rs, err := rpc.NewServer(rpc.Config{
		TLS:      cfg.TLS,
		Catalog:  catalogs,
		Resolver: previewResolver{catalogs: catalogs, r: &resolve.Resolver{Leases: leases}},
		Logger:   d.log,
		Registry: reg,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("--rpc-addr: %w", err)
	}
	d.rpcServer = rs
	d.urls["rpc"] = ln.Addr().String()
	d.log.Info("listening", "listener", "rpc", "addr", ln.Addr().String())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := rs.Serve(ln); err != nil {
			select {
			case d.failed <- fmt.Errorf("rpc listener: %w", err):
			default: // another listener's failure is being reported
			}
		}
	}()
	d.onStop(func() {
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
		defer cancel()
		rs.Shutdown(ctx)
		<-done
	})
	return nil
}

// reloadRPC re-reads the gRPC listener's certificate, key and CA (SIGHUP);
// on error the files in use stay in use.
func (d *daemon) reloadRPC() {
	if d.rpcServer == nil {
		return
	}
	if err := d.rpcServer.ReloadTLS(); err != nil {
		d.log.Error("gRPC certificates not reloaded; keeping the previous ones", "err", err)
		return
	}
	d.log.Info("gRPC certificates reloaded")
}

// previewResolver is matchbox's Select over the resolution service in
// Preview mode: the group and profile a machine with these labels gets,
// without creating a lease or an inventory record.
type previewResolver struct {
	catalogs catalogEditor
	r        *resolve.Resolver
}

// Resolve implements rpc.Resolver. A matching group whose profile does
// not exist comes back with the error (wrapping catalog.ErrNoProfile), for
// SelectGroup to answer it. What a preview says of the lease (a pool with
// no address left, a group that needs a mac) does not change which group
// and profile match, so the match is returned without it.
func (p previewResolver) Resolve(ctx context.Context, labels groups.Labels) (*catalog.Match, error) {
	res, err := p.r.Resolve(ctx, p.catalogs.Current(), resolve.Facts{Labels: labels, MAC: labels.MAC()}, resolve.Options{Preview: true})
	switch {
	case errors.Is(err, resolve.ErrNotReady):
		return nil, fmt.Errorf("%w: %w", catalog.ErrNoMatch, err)
	case err != nil && !errors.Is(err, catalog.ErrNoMatch) && res.Match != nil && res.Match.Group != nil:
		return res.Match, nil
	}
	return res.Match, err
}
