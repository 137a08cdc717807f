package admin

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http/httptest"
	"testing"

	"github.com/provisiond/provisiond/console"
)

// An *Auth is the console's Authenticator: the console signs in with the
// admin API's own credentials.
var _ console.Authenticator = (*Auth)(nil)

// TestAuthCheckToken: the console's sign-in accepts exactly the admin
// API's tokens, with the same identity, and follows SetTokens.
func TestAuthCheckToken(t *testing.T) {
	auth := NewAuth([]string{goodToken}, false)
	for _, tc := range []struct {
		name, tok string
		ok        bool
	}{
		{"good", goodToken, true},
		{"wrong", otherToken, false},
		{"prefix", goodToken[:16], false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			who, ok := auth.CheckToken(tc.tok)
			if ok != tc.ok {
				t.Fatalf("CheckToken(%q) ok %v, want %v", tc.tok, ok, tc.ok)
			}
			if ok && (len(who) != len("token:")+8 || who[:6] != "token:") {
				t.Errorf("identity %q", who)
			}
			if !ok && who != "" {
				t.Errorf("a refused token has identity %q", who)
			}
		})
	}
	// The same identity as the admin API logs for a bearer token.
	r := httptest.NewRequest("GET", "/api/v1/groups", nil)
	r.Header.Set("Authorization", "Bearer "+goodToken)
	apiWho, err := auth.check(r)
	if err != nil {
		t.Fatal(err)
	}
	if who, _ := auth.CheckToken(goodToken); who != apiWho {
		t.Errorf("console identity %q, admin API identity %q", who, apiWho)
	}
	auth.SetTokens([]string{otherToken})
	if _, ok := auth.CheckToken(goodToken); ok {
		t.Error("a token removed by SetTokens is still accepted")
	}
	if _, ok := auth.CheckToken(otherToken); !ok {
		t.Error("a token added by SetTokens is refused")
	}
}

// TestAuthAuthenticate: a verified client certificate signs in as
// cert:<common name> only when client certificates are accepted; a
// bearer header never does.
func TestAuthAuthenticate(t *testing.T) {
	verified := func() *tls.ConnectionState {
		return &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Subject: pkix.Name{CommonName: "ops-laptop"}}}}}
	}
	for _, tc := range []struct {
		name   string
		certs  bool
		tls    *tls.ConnectionState
		bearer bool
		who    string
		wantOK bool
	}{
		{"verified certificate", true, verified(), false, "cert:ops-laptop", true},
		{"certificates not accepted", false, verified(), false, "", false},
		{"TLS without a verified chain", true, &tls.ConnectionState{}, false, "", false},
		{"plain HTTP", true, nil, false, "", false},
		{"a bearer token is not transport authentication", true, nil, true, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/console/machines", nil)
			r.TLS = tc.tls
			if tc.bearer {
				r.Header.Set("Authorization", "Bearer "+goodToken)
			}
			who, ok := NewAuth([]string{goodToken}, tc.certs).Authenticate(r)
			if ok != tc.wantOK || who != tc.who {
				t.Errorf("Authenticate = %q, %v; want %q, %v", who, ok, tc.who, tc.wantOK)
			}
		})
	}
}

// TestAuthAccepts: an identity stays accepted while its token does, and
// a certificate identity while certificates are.
func TestAuthAccepts(t *testing.T) {
	auth := NewAuth([]string{goodToken, otherToken}, true)
	good, _ := auth.CheckToken(goodToken)
	other, _ := auth.CheckToken(otherToken)
	for _, who := range []string{good, other, "cert:ops-laptop"} {
		if !auth.Accepts(who) {
			t.Errorf("%s not accepted", who)
		}
	}
	auth.SetTokens([]string{otherToken})
	if auth.Accepts(good) {
		t.Errorf("%s still accepted after its token was removed", good)
	}
	if !auth.Accepts(other) {
		t.Errorf("%s refused though its token was kept", other)
	}
	for _, who := range []string{"", "token:", "anonymous", "token:zz"} {
		if auth.Accepts(who) {
			t.Errorf("%q accepted", who)
		}
	}
	if NewAuth([]string{goodToken}, false).Accepts("cert:ops-laptop") {
		t.Error("a certificate identity accepted without client certificates")
	}
}
