package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/provisiond/provisiond/admin"
	"github.com/provisiond/provisiond/internal/tokenfile"
)

// clientConfig is how the client verbs reach the admin API.
type clientConfig struct {
	Server    string
	TokenFile string
	CAFile    string
	CertFile  string
	KeyFile   string
	Timeout   time.Duration
	Output    string
}

// clientFlags returns a flag set with the connection flags every client
// verb takes, and -o when output is true.
func clientFlags(name string, cfg *clientConfig, output bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&cfg.Server, "server", "http://127.0.0.1:8081", "admin API `URL`")
	fs.StringVar(&cfg.TokenFile, "token-file", "", "`file` whose first token is sent as Authorization: Bearer")
	fs.StringVar(&cfg.CAFile, "ca-file", "", "PEM `file` of the CA that signed the admin API's certificate (https)")
	fs.StringVar(&cfg.CertFile, "cert-file", "", "PEM client certificate `file` (mTLS)")
	fs.StringVar(&cfg.KeyFile, "key-file", "", "PEM client key `file` (mTLS)")
	fs.DurationVar(&cfg.Timeout, "timeout", 60*time.Second, "time a request may take")
	if output {
		fs.StringVar(&cfg.Output, "o", "table", "output `format`: table, json or yaml")
	}
	return fs
}

// parseClient parses args, flags and positional arguments mixed
// (`get groups web -o json`), then fills unset flags from PROVISIOND_*
// variables. It returns the positional arguments.
func parseClient(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if err := fillFromEnv(fs, nil); err != nil {
		return nil, usagef("%v", err)
	}
	return pos, nil
}

// client talks JSON to the admin API.
type client struct {
	base  *url.URL
	token string
	http  *http.Client
}

func newClient(cfg clientConfig) (*client, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.Server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want http://host:port or https://host:port", cfg.Server)
	}
	c := &client{base: u, http: &http.Client{Timeout: cfg.Timeout}}
	if cfg.TokenFile != "" {
		tokens, err := tokenfile.Read(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		c.token = tokens[0]
	}
	if cfg.CAFile != "" || cfg.CertFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("--ca-file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ca-file %s: no PEM certificate in the file", cfg.CAFile)
			}
		}
		if cfg.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("--cert-file/--key-file: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		c.http.Transport = &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}
	}
	return c, nil
}

// apiError is an error answer of the admin API.
type apiError struct {
	Status int
	admin.ErrorBody
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.ErrorBody.Error)
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	return msg
}

// response is a successful answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request to path (with query) and returns the answer, or an
// *apiError for a status of 400 or more.
func (c *client) do(method, path string, query url.Values, body []byte, header http.Header) (*response, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, &e.ErrorBody) != nil || e.ErrorBody.Error == "" {
			e.ErrorBody.Error = strings.TrimSpace(string(data))
		}
		return nil, e
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// getJSON GETs path and decodes the answer into v.
func (c *client) getJSON(path string, query url.Values, v any) (*response, error) {
	resp, err := c.do(http.MethodGet, path, query, nil, nil)
	if err != nil {
		return nil, err
	}
	return resp, json.Unmarshal(resp.Body, v)
}

// printWarnings copies the server's warnings to w.
func printWarnings(w io.Writer, h http.Header) {
	for _, v := range h.Values("X-Provisiond-Warning") {
		fmt.Fprintf(w, "warning: %s\n", v)
	}
	if v := h.Get("Warning"); v != "" {
		fmt.Fprintf(w, "warning: %s\n", v)
	}
}

// printStructured prints raw JSON as indented JSON or as YAML.
func printStructured(w io.Writer, format string, raw []byte) error {
	switch format {
	case "json":
		var buf bytes.Buffer
		if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	case "yaml":
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	}
	return fmt.Errorf("-o %q: want table, json or yaml", format)
}

// usageError is a command line mistake: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// runClient runs one client verb and maps its error to an exit status:
// 2 for usage mistakes, 1 for everything else.
func runClient(name string, stderr io.Writer, fn func() error) int {
	err := fn()
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "provisiond %s: %v\n", name, err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
