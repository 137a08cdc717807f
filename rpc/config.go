package rpc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// TLSFiles names the PEM files of the gRPC listener's mutual TLS.
type TLSFiles struct {
	// Cert and Key are the server's certificate chain and private key
	// (--rpc-cert, --rpc-key; matchbox's -cert-file, -key-file).
	Cert, Key string
	// CA holds the certificates that client certificates must chain to
	// (--rpc-ca; matchbox's -ca-file).
	CA string
}

// Check reports every missing file name in one error that names the flags.
func (f TLSFiles) Check() error {
	var missing []string
	for _, m := range []struct{ v, flag string }{
		{f.Cert, "--rpc-cert (matchbox: -cert-file)"},
		{f.Key, "--rpc-key (matchbox: -key-file)"},
		{f.CA, "--rpc-ca (matchbox: -ca-file)"},
	} {
		if strings.TrimSpace(m.v) == "" {
			missing = append(missing, m.flag)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the gRPC API requires mutual TLS: missing %s (provisiond certs init DIR writes them)", strings.Join(missing, ", "))
	}
	return nil
}

// Config loads the files into a server TLS configuration: TLS 1.2 or
// later, client certificates required and verified against the CA.
func (f TLSFiles) Config() (*tls.Config, error) {
	st, err := f.load()
	if err != nil {
		return nil, err
	}
	return st.config(), nil
}

// tlsState is what the files held when they were last read.
type tlsState struct {
	cert tls.Certificate
	cas  *x509.CertPool
}

func (f TLSFiles) load() (*tlsState, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("--rpc-cert %s / --rpc-key %s: %w", f.Cert, f.Key, err)
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("--rpc-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--rpc-ca %s: %w", f.CA, errNoCerts)
	}
	return &tlsState{cert: cert, cas: pool}, nil
}

func (st *tlsState) config() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{st.cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    st.cas,
		NextProtos:   []string{"h2"},
	}
}

var errNoCerts = errors.New("no PEM certificate in the file")
