package cli

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// ClientConfig is how the client verbs reach the admin API.
type ClientConfig struct {
	Server    string
	TokenFile string
	CAFile    string
	CertFile  string
	KeyFile   string
	Timeout   time.Duration
	Output    Output
}

// clientFlags returns a flag set with the connection flags every client
// verb takes, -o when output is true, and help that starts with intro.
func clientFlags(name string, cfg *ClientConfig, output bool, stderr io.Writer, intro string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Server, "server", "http://127.0.0.1:8081", "admin API `URL`")
	fs.StringVar(&cfg.TokenFile, "token-file", "", "`file` whose first token is sent as Authorization: Bearer")
	fs.StringVar(&cfg.CAFile, "ca-file", "", "PEM `file` of the CA that signed the admin API's certificate (https)")
	fs.StringVar(&cfg.CertFile, "cert-file", "", "PEM client certificate `file` (mTLS)")
	fs.StringVar(&cfg.KeyFile, "key-file", "", "PEM client key `file` (mTLS)")
	fs.DurationVar(&cfg.Timeout, "timeout", 60*time.Second, "time a request may take")
	cfg.Output = "table"
	if output {
		fs.Var(&cfg.Output, "o", "output `format`: table, json or yaml")
	}
	fs.Usage = FlagUsage(fs, intro, ConnectionFromEnv)
	return fs
}

// ClientFlags returns a flag set with the connection flags of the client
// verbs (--server, --token-file, --ca-file, --cert-file, --key-file,
// --timeout), -o when output is true, errors and help on stderr, and
// help that starts with intro. A verb outside this package that talks to
// the admin API starts from it, and parses with ParseClient.
func ClientFlags(name string, cfg *ClientConfig, output bool, stderr io.Writer, intro string) *flag.FlagSet {
	return clientFlags(name, cfg, output, stderr, intro)
}

// ParseClient parses a client verb's arguments: see Parse. Environment
// variables set the connection flags only.
func ParseClient(fs *flag.FlagSet, args []string) ([]string, error) { return parseClient(fs, args) }

// NewClient returns a client of the admin API that cfg names; a --server
// that is not an http(s) URL is a *UsageError.
func NewClient(cfg ClientConfig) (*Client, error) { return newClient(cfg) }

// URL is the address of path on the admin API.
func (c *Client) URL(path string) string {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return u.String()
}

// Download GETs path and copies the answer into w, without the client's
// timeout (a large answer takes as long as it takes), and returns the
// bytes copied. An answer shorter than the length the server announced is
// an error; so is a status of 400 or more (an *apiError).
func (c *Client) Download(path string, w io.Writer) (int64, error) {
	req, err := http.NewRequest(http.MethodGet, c.URL(path), nil)
	if err != nil {
		return 0, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return 0, &unreachableError{server: c.base.String(), err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, &e.errorBody) != nil || e.errorBody.Error == "" {
			e.errorBody.Error = strings.TrimSpace(string(data))
		}
		return 0, e
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("the answer from %s stopped after %d bytes: %w", c.base, n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("%d bytes of %d from %s: the server cut the answer", n, resp.ContentLength, c.base)
	}
	return n, nil
}

// parseClient parses a client verb's arguments: see Parse.
func parseClient(fs *flag.FlagSet, args []string) ([]string, error) {
	return Parse(fs, args, ConnectionFromEnv, nil)
}

// Client talks JSON to the admin API.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

func newClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.Server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, Usagef("--server %q: want http://host:port or https://host:port", cfg.Server)
	}
	c := &Client{base: u, http: &http.Client{Timeout: cfg.Timeout}}
	if cfg.TokenFile != "" {
		tokens, err := readTokenFile(cfg.TokenFile)
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
	errorBody
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.errorBody.Error)
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	return msg
}

// unreachableError is a request that got no answer from the admin API.
type unreachableError struct {
	server string
	err    error
}

func (e *unreachableError) Error() string {
	cause := e.err
	var op *net.OpError
	if errors.As(e.err, &op) {
		cause = op.Err // "connect: connection refused", without the route
	} else if ue := (*url.Error)(nil); errors.As(e.err, &ue) {
		cause = ue.Err
	}
	return fmt.Sprintf("cannot reach the admin API at %s: %v (is provisiond serve running there? set --server or PROVISIOND_SERVER)", e.server, cause)
}

func (e *unreachableError) Unwrap() error { return e.err }

// response is a successful answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request to path (with query) and returns the answer, an
// *apiError for a status of 400 or more, or an *unreachableError.
func (c *Client) do(method, path string, query url.Values, body []byte, header http.Header) (*response, error) {
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
		return nil, &unreachableError{server: c.base.String(), err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", c.base, err)
	}
	if resp.StatusCode >= 400 {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, &e.errorBody) != nil || e.errorBody.Error == "" {
			e.errorBody.Error = strings.TrimSpace(string(data))
		}
		return nil, e
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}
