package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/provisiond/provisiond/internal/certs"
)

const certsUsage = `Usage: provisiond certs init DIR --server-name NAME [--ip ADDR,...] [flags]

Writes the certificates of the gRPC API's mutual TLS into DIR: a new CA
(ca.crt, ca.key), a server certificate for NAME and the addresses given
(server.crt, server.key: --rpc-cert, --rpc-key, with --rpc-ca ca.crt) and a
client certificate for Terraform (client.crt, client.key), the file names
matchbox's docs use. Then prints the terraform-provider-matchbox provider
block that uses them. Existing files are never overwritten. Keep ca.key
offline: whoever holds it can issue client certificates.

Flags:
`

// cmdCerts implements `provisiond certs init`.
func cmdCerts(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	name := fs.String("server-name", "", "the DNS `name` clients dial (required)")
	ips := fs.String("ip", "", "server `addresses` clients may dial instead, comma-separated")
	port := fs.Int("port", 8081, "the gRPC `port`, for the printed provider block")
	days := fs.Int("days", 5*365, "validity of the server and client certificates in `days` (the CA: twice that)")
	client := fs.String("client-name", "terraform", "the client certificate's common `name`")
	fs.SetOutput(stderr)
	fs.Usage = flagUsage(fs, certsUsage)
	return runClient("certs", stderr, func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 || pos[0] != "init" {
			return usagef("want: certs init DIR --server-name NAME")
		}
		if *name == "" {
			return usagef("--server-name is required: the DNS name clients dial (it goes into the server certificate)")
		}
		if *days <= 0 {
			return usagef("--days %d: want a positive number", *days)
		}
		opt := certs.Options{ServerName: *name, ClientName: *client, Validity: time.Duration(*days) * 24 * time.Hour}
		for _, s := range strings.Split(*ips, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			ip := net.ParseIP(s)
			if ip == nil {
				return usagef("--ip %q: not an IP address", s)
			}
			opt.IPs = append(opt.IPs, ip)
		}
		dir := pos[1]
		if err := certs.Init(dir, opt); err != nil {
			return err
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			abs = dir
		}
		fmt.Fprintf(stdout, "wrote %s in %s\n\n", strings.Join(certs.Files, ", "), abs)
		admin := ""
		if *port == 8081 { // the admin API's default port: move it (checkPortClash)
			admin = " --admin-addr 127.0.0.1:8082"
		}
		fmt.Fprintf(stdout, "serve the gRPC API with:\n  provisiond serve --rpc-addr 0.0.0.0:%d --rpc-cert %s --rpc-key %s --rpc-ca %s%s\n\n",
			*port, filepath.Join(abs, certs.ServerCert), filepath.Join(abs, certs.ServerKey), filepath.Join(abs, certs.CACert), admin)
		fmt.Fprintf(stdout, "and in Terraform:\n\n%s", certs.ProviderBlock(abs, net.JoinHostPort(*name, fmt.Sprint(*port))))
		return nil
	})
}
