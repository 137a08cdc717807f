package admin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	goodToken  = "0123456789abcdef0123456789abcdef"
	otherToken = "fedcba9876543210fedcba9876543210"
)

// TestAdminAuthTokens: without credentials or with a wrong token, every
// route answers 401 with WWW-Authenticate: Bearer; with a good one, it
// answers; swapped tokens apply at once.
func TestAdminAuthTokens(t *testing.T) {
	auth := NewAuth([]string{goodToken, otherToken}, false)
	e := newAdminEnv(t, testCatalogDir, auth)
	for _, tc := range []struct {
		name, authz string
		code        int
	}{
		{"no credentials", "", 401},
		{"wrong token", "Bearer 0123456789abcdef0123456789abcdeX", 401},
		{"a prefix of a token", "Bearer 0123456789abcdef", 401},
		{"wrong scheme", "Basic " + goodToken, 401},
		{"empty bearer", "Bearer ", 401},
		{"good token", "Bearer " + goodToken, 200},
		{"second token", "Bearer " + otherToken, 200},
		{"scheme is case-insensitive", "bearer " + goodToken, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, route := range []struct{ method, path, body string }{
				{"GET", "/api/v1/profiles", ""},
				{"GET", "/api/v1/select?mac=52:54:00:00:00:01", ""},
				{"PUT", "/api/v1/templates/generic/x", "x"},
				{"DELETE", "/api/v1/leases/services/10.0.0.102", ""},
			} {
				var hdr []string
				if tc.authz != "" {
					hdr = []string{"Authorization", tc.authz}
				}
				code, body, h := e.do(route.method, route.path, route.body, hdr...)
				if tc.code == 401 {
					if code != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(body, `"error"`) {
						t.Errorf("%s %s: %d %q %s", route.method, route.path, code, h.Get("WWW-Authenticate"), body)
					}
				} else if code == 401 {
					t.Errorf("%s %s refused: %s", route.method, route.path, body)
				}
			}
		})
	}
	auth.SetTokens([]string{otherToken})
	if code, _, _ := e.do("GET", "/api/v1/profiles", "", "Authorization", "Bearer "+goodToken); code != 401 {
		t.Errorf("a removed token still works: %d", code)
	}
	if !strings.Contains(e.logs.String(), `"who":"token:`) {
		t.Errorf("writes are not logged with the caller's identity")
	}
}

// TestAdminAuthClientCert: with a client CA, a verified certificate is
// enough; without one (and without a token) the answer is 401; a token
// works too when both are configured.
func TestAdminAuthClientCert(t *testing.T) {
	ca, caKey := newCert(t, "test CA", nil, nil)
	serverCert, serverKey := newCert(t, "127.0.0.1", ca, caKey)
	clientCert, clientKey := newCert(t, "operator", ca, caKey)
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	auth := NewAuth([]string{goodToken}, true)
	e := newAdminEnv(t, testCatalogDir, auth)
	ts := httptest.NewUnstartedServer(e.adm)
	ts.TLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{serverCert.Raw}, PrivateKey: serverKey}},
		ClientCAs:    pool, ClientAuth: tls.VerifyClientCertIfGiven,
	}
	ts.StartTLS()
	defer ts.Close()
	client := func(withCert bool) *http.Client {
		tc := &tls.Config{RootCAs: pool}
		if withCert {
			tc.Certificates = []tls.Certificate{{Certificate: [][]byte{clientCert.Raw}, PrivateKey: clientKey}}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	get := func(c *http.Client, token string) int {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/profiles", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(client(true), ""); code != 200 {
		t.Errorf("client certificate: %d", code)
	}
	if code := get(client(false), ""); code != 401 {
		t.Errorf("no certificate, no token: %d", code)
	}
	if code := get(client(false), goodToken); code != 200 {
		t.Errorf("token over TLS: %d", code)
	}
}

// newCert makes a certificate signed by parent (self-signed when nil).
func newCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		parent, parentKey = tmpl, key
	} else if cn == "127.0.0.1" {
		tmpl.IPAddresses = []net.IP{net.ParseIP(cn)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
