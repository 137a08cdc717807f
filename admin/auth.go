package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
)

// Auth authenticates admin API requests: by bearer token
// (Authorization: Bearer <token>), and, with ClientCerts, by a TLS client
// certificate that the listener verified against the client CA. Either
// credential suffices. It is safe for concurrent use; SetTokens swaps the
// tokens while requests are served.
type Auth struct {
	// ClientCerts accepts requests whose TLS client certificate chain was
	// verified by the listener (tls.Config.ClientCAs).
	ClientCerts bool

	tokens atomic.Pointer[[]tokenHash]
}

// tokenHash is the SHA-256 of a token. Comparing hashes in constant time
// takes the same time whatever the presented token's length.
type tokenHash [sha256.Size]byte

// NewAuth returns an authenticator accepting tokens (and client
// certificates when clientCerts is set).
func NewAuth(tokens []string, clientCerts bool) *Auth {
	a := &Auth{ClientCerts: clientCerts}
	a.SetTokens(tokens)
	return a
}

// SetTokens replaces the accepted tokens.
func (a *Auth) SetTokens(tokens []string) {
	hs := make([]tokenHash, len(tokens))
	for i, t := range tokens {
		hs[i] = sha256.Sum256([]byte(t))
	}
	a.tokens.Store(&hs)
}

// Authenticate returns the identity of a request whose TLS client
// certificate the listener verified ("cert:<common name>"), when client
// certificates are accepted; ok false otherwise. It never reads a token.
// With Authenticate and CheckToken, an *Auth is the console's
// Authenticator.
func (a *Auth) Authenticate(r *http.Request) (identity string, ok bool) {
	if a.ClientCerts && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return "cert:" + r.TLS.VerifiedChains[0][0].Subject.CommonName, true
	}
	return "", false
}

// CheckToken returns the identity of an admin token
// ("token:<fingerprint>", the first 4 bytes of its SHA-256 in hex), or ok
// false for a token not accepted. It compares against every token in
// constant time.
func (a *Auth) CheckToken(tok string) (identity string, ok bool) {
	if tok == "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(tok))
	match := 0
	for _, t := range *a.tokens.Load() {
		match |= subtle.ConstantTimeCompare(sum[:], t[:]) // every token, always
	}
	if match != 1 {
		return "", false
	}
	return "token:" + hex.EncodeToString(sum[:4]), true
}

// Accepts reports whether an identity Authenticate or CheckToken
// returned is still accepted: a "token:<fingerprint>" while a token with
// that fingerprint is, a "cert:..." while client certificates are. The
// console asks it after SetTokens, to end the sessions of removed tokens.
func (a *Auth) Accepts(identity string) bool {
	if fp, ok := strings.CutPrefix(identity, "token:"); ok {
		for _, t := range *a.tokens.Load() {
			if hex.EncodeToString(t[:4]) == fp {
				return true
			}
		}
		return false
	}
	return a.ClientCerts && strings.HasPrefix(identity, "cert:")
}

// check returns the caller's identity ("token:<fingerprint>" or
// "cert:<common name>"), or an error for the client.
func (a *Auth) check(r *http.Request) (string, error) {
	if who, ok := a.Authenticate(r); ok {
		return who, nil
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		if a.ClientCerts {
			return "", fmt.Errorf("authentication required: a bearer token or a client certificate")
		}
		return "", fmt.Errorf("authentication required: Authorization: Bearer <token>")
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", fmt.Errorf("authentication required: Authorization: Bearer <token>")
	}
	who, ok := a.CheckToken(strings.TrimSpace(tok))
	if !ok {
		return "", fmt.Errorf("invalid token")
	}
	return who, nil
}

// authenticate refuses requests without valid credentials with 401 and
// WWW-Authenticate: Bearer, when authentication is configured.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.Auth == nil {
			next.ServeHTTP(w, r)
			return
		}
		who, err := a.cfg.Auth.check(r)
		if err != nil {
			writeAPIError(w, r, &apiError{Code: http.StatusUnauthorized, Msg: err.Error()})
			return
		}
		if i := infoFrom(r.Context()); i != nil {
			i.who = who
		}
		next.ServeHTTP(w, r)
	})
}

// Auth returns the admin API's authenticator (nil without one), so that
// its tokens can be swapped on reload.
func (a *API) Auth() *Auth { return a.cfg.Auth }
