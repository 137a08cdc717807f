//go:build e2e

// Command rpcserve is a stand-in for `provisiond serve --rpc-addr ...`
// used by the OpenTofu e2e test (e2e/tofu_test.go) until serve has the
// flags: it serves the boot endpoints and matchbox's gRPC API from one
// bbolt store, wired as serve wires them, and logs its listeners as serve
// does ({"msg":"listening","listener":"boot"|"rpc","addr":...}). It takes
// the flags serve is to take: --addr, --rpc-addr, --rpc-cert, --rpc-key,
// --rpc-ca, --data-dir, --log-format (json only).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/rpc"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rpcserve:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "boot listener")
	rpcAddr := flag.String("rpc-addr", "", "gRPC listener")
	var files rpc.TLSFiles
	flag.StringVar(&files.Cert, "rpc-cert", "", "server certificate")
	flag.StringVar(&files.Key, "rpc-key", "", "server key")
	flag.StringVar(&files.CA, "rpc-ca", "", "client CA")
	dataDir := flag.String("data-dir", "", "bbolt directory")
	flag.String("log-format", "json", "json")
	flag.Parse()
	if *rpcAddr == "" || *dataDir == "" {
		return errors.New("--rpc-addr and --data-dir are required")
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	store, err := bolt.Open(*dataDir)
	if err != nil {
		return err
	}
	defer store.Close()
	leases, err := store.Leases(ctx)
	if err != nil {
		return err
	}
	table := ipam.NewTable(leases)
	srv := server.New(server.Config{Logger: log, Allocator: store, Leases: table})
	catalogs := &storage.Catalogs{Store: store, Leases: table, Swap: srv.Swap}
	if _, _, err := catalogs.LoadStored(ctx); err != nil {
		return err
	}
	rs, err := rpc.NewServer(rpc.Config{TLS: files, Catalog: catalogs, Logger: log})
	if err != nil {
		return err
	}

	bootLn, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	rpcLn, err := net.Listen("tcp", *rpcAddr)
	if err != nil {
		return fmt.Errorf("--rpc-addr: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	errc := make(chan error, 2)
	go func() {
		if err := hs.Serve(bootLn); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	go func() {
		if err := rs.Serve(rpcLn); err != nil {
			errc <- err
		}
	}()
	log.Info("listening", "listener", "boot", "addr", bootLn.Addr().String())
	log.Info("listening", "listener", "rpc", "addr", rpcLn.Addr().String())
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	rs.Shutdown(sctx)
	return err
}
