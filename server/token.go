package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// BootTokens issues and checks boot tokens: short-lived HMACs bound to a
// machine's MAC. /ipxe and /grub put one into the boot fields
// ({{ .boot_token }}), and the config endpoints (/ignition, /cloud,
// /generic, /metadata) refuse a request without a valid one for the MAC
// it asks for.
//
// A token is 38 characters of unpadded base64url (decoded strictly) of
// expiry || hint || sum: expiry is the 8-byte big-endian Unix time the
// token expires, hint the first 4 bytes of SHA-256 of the normalized MAC
// (it only tells "for another MAC" from "forged" in the metric; MACs are
// not secret), and sum the first 16 bytes of HMAC-SHA256(secret,
// "provisiond-boot-token\x00" || MAC || "\x00" || expiry || hint),
// compared with hmac.Equal. Tokens are signed with the first secret and
// accepted with any, so secrets rotate by prepending a new one.
//
// Expiries are rounded up to a quarter of the TTL: a token issued at any
// moment of one quarter is the same string, so the boot render cache,
// whose key includes the token, keeps its hits, and a token is valid for
// between TTL and 1.25 TTL.
//
// The zero value is not usable; use NewBootTokens. It is safe for
// concurrent use; SetSecrets swaps the secrets while requests are served.
type BootTokens struct {
	// TTL is how long an issued token is valid, at least.
	TTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	secrets atomic.Pointer[[][]byte]
}

// DefaultBootTokenTTL is the TTL of NewBootTokens with ttl 0.
const DefaultBootTokenTTL = time.Hour

// Reasons a config request's token is refused: the bounded label values
// of provisiond_boot_token_rejections_total.
const (
	TokenMissing  = "missing"
	TokenExpired  = "expired"
	TokenInvalid  = "invalid"
	TokenWrongMAC = "wrong_mac"
)

const (
	tokenMACLen  = 16
	tokenHintLen = 4
	tokenLen     = 8 + tokenHintLen + tokenMACLen
)

// NewBootTokens returns boot tokens signed with secrets[0] and checked
// against all of them, valid for ttl (0: DefaultBootTokenTTL).
func NewBootTokens(secrets []string, ttl time.Duration) *BootTokens {
	if ttl <= 0 {
		ttl = DefaultBootTokenTTL
	}
	t := &BootTokens{TTL: ttl}
	t.SetSecrets(secrets)
	return t
}

// SetSecrets replaces the secrets: the first signs, any verifies.
func (t *BootTokens) SetSecrets(secrets []string) {
	ss := make([][]byte, len(secrets))
	for i, s := range secrets {
		ss[i] = []byte(s)
	}
	t.secrets.Store(&ss)
}

func (t *BootTokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Issue returns a token for mac (normalized, as groups.ParseMAC returns
// it), or "" when t is nil, there is no secret or no mac: .boot_token then
// renders empty.
func (t *BootTokens) Issue(mac string) string {
	if t == nil || mac == "" {
		return ""
	}
	ss := *t.secrets.Load()
	if len(ss) == 0 {
		return ""
	}
	step := t.TTL / 4
	if step < time.Second {
		step = time.Second
	}
	exp := t.now().Add(t.TTL).Truncate(step).Add(step).Unix()
	var buf [tokenLen]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(exp))
	hint := macHint(mac)
	copy(buf[8:], hint[:])
	copy(buf[8+tokenHintLen:], tokenMAC(ss[0], mac, buf[:8+tokenHintLen]))
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

// Verify checks token for mac and returns "" when it is valid, else the
// reason it is refused (TokenMissing, TokenExpired, TokenInvalid,
// TokenWrongMAC). An expiry that the HMAC does not cover is never trusted:
// a forged token is invalid, not expired.
func (t *BootTokens) Verify(mac, token string) string {
	if token == "" || mac == "" {
		return TokenMissing
	}
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenLen) {
		return TokenInvalid
	}
	// Strict: one token, one spelling (no stray bits in the last character).
	buf, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(buf) != tokenLen {
		return TokenInvalid
	}
	for _, s := range *t.secrets.Load() {
		if hmac.Equal(buf[8+tokenHintLen:], tokenMAC(s, mac, buf[:8+tokenHintLen])) {
			exp := int64(binary.BigEndian.Uint64(buf[:8]))
			if t.now().Unix() >= exp {
				return TokenExpired
			}
			return ""
		}
	}
	if hint := macHint(mac); !hmac.Equal(buf[8:8+tokenHintLen], hint[:]) {
		return TokenWrongMAC
	}
	return TokenInvalid
}

func tokenMAC(secret []byte, mac string, expHint []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("provisiond-boot-token\x00"))
	h.Write([]byte(mac))
	h.Write([]byte{0})
	h.Write(expHint)
	return h.Sum(nil)[:tokenMACLen]
}

func macHint(mac string) [tokenHintLen]byte {
	sum := sha256.Sum256([]byte(mac))
	var h [tokenHintLen]byte
	copy(h[:], sum[:])
	return h
}

// requireToken guards the config endpoints when boot tokens are on: the
// query must carry token=<value> valid for its mac. A refusal is 403 with a
// short message, a log line with the mac and the reason, and a count in
// provisiond_boot_token_rejections_total. It runs before the handler, so a
// refused request renders nothing and allocates no lease.
func (s *Server) requireToken(next http.Handler) http.Handler {
	if s.cfg.BootTokens == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The mac the handler will serve: the facts' (parsed once for
		// both), whatever its spelling (MAC=, mac=), so the token and
		// the config agree.
		f, err := s.facts(w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if reason := s.cfg.BootTokens.Verify(f.MAC.String(), f.Token); reason != "" {
			s.metrics.tokenRejections.WithLabelValues(reason).Inc()
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "boot token refused",
				slog.String("path", r.URL.Path), slog.String("mac", string(f.MAC)),
				slog.String("reason", reason), slog.String("remote", r.RemoteAddr))
			msg := "boot token " + reason + ": fetch the config through the URL /ipxe gave"
			if reason == TokenMissing {
				msg = "a boot token and a mac are required: fetch the config through the URL /ipxe gave"
			}
			writeError(w, r, &httpError{Code: http.StatusForbidden, Msg: msg})
			return
		}
		next.ServeHTTP(w, r)
	})
}
