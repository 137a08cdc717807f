package server

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBootTokenVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	bt := NewBootTokens([]string{"new-secret-0123456789", "old-secret-0123456789"}, time.Hour)
	bt.Now = func() time.Time { return now }
	old := NewBootTokens([]string{"old-secret-0123456789"}, time.Hour)
	old.Now = bt.Now
	other := NewBootTokens([]string{"someone-elses-secret"}, time.Hour)
	other.Now = bt.Now
	const mac = "52:54:00:89:d8:10"
	tok := bt.Issue(mac)
	if tok == "" || tok != bt.Issue(mac) {
		t.Fatalf("Issue: %q, then %q", tok, bt.Issue(mac))
	}
	if strings.ContainsAny(tok, "+/=&") {
		t.Errorf("token %q is not URL-safe", tok)
	}
	flipped := []byte(tok)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name, mac, token string
		after            time.Duration
		want             string
	}{
		{"valid", mac, tok, 0, ""},
		{"valid just before the TTL", mac, tok, time.Hour - time.Second, ""},
		{"signed with a previous secret", mac, old.Issue(mac), 0, ""},
		{"expired", mac, tok, 76 * time.Minute, TokenExpired},
		{"another mac", "52:54:00:00:00:01", tok, 0, TokenWrongMAC},
		{"missing", mac, "", 0, TokenMissing},
		{"no mac", "", tok, 0, TokenMissing},
		{"flipped bit", mac, string(flipped), 0, TokenInvalid},
		{"another secret", mac, other.Issue(mac), 0, TokenInvalid},
		{"garbage", mac, "not-a-token", 0, TokenInvalid},
		{"right length, not base64", mac, strings.Repeat("*", len(tok)), 0, TokenInvalid},
		{"forged expiry", mac, forgeExpiry(t, tok), 2 * time.Hour, TokenInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := now.Add(tc.after)
			bt.Now = func() time.Time { return at }
			defer func() { bt.Now = func() time.Time { return now } }()
			if got := bt.Verify(tc.mac, tc.token); got != tc.want {
				t.Errorf("Verify = %q, want %q", got, tc.want)
			}
		})
	}
	// Issue buckets the expiry: the same token for a quarter of the TTL.
	bt.Now = func() time.Time { return now.Truncate(15 * time.Minute) }
	a := bt.Issue(mac)
	bt.Now = func() time.Time { return now.Truncate(15 * time.Minute).Add(14 * time.Minute) }
	if b := bt.Issue(mac); a != b {
		t.Errorf("tokens within one quarter differ: %q %q", a, b)
	}
	var nilTokens *BootTokens
	if got := nilTokens.Issue(mac); got != "" {
		t.Errorf("nil BootTokens issued %q", got)
	}
}

// forgeExpiry moves a token's expiry two hours later without re-signing.
func forgeExpiry(t *testing.T, tok string) string {
	b := []byte(tok)
	b[9] ^= 0x10
	return string(b)
}

// TestBootTokenEndpoints serves a catalog whose profile puts the token into
// ignition.config.url: the URL /ipxe gives works, and every config
// endpoint refuses a request without a valid token with 403, logs it and
// counts it.
func TestBootTokenEndpoints(t *testing.T) {
	dir := writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id": "p", "boot": {"kernel": "/k", "args": ["ignition.config.url={{.server.url}}/ignition?mac=${mac:hexhyp}&token={{.boot_token}}"]}, "ignition_id": "p.yaml", "cloud_id": "p.cloud", "generic_id": "p.txt"}`,
		"groups/g.json":   `{"id": "g", "profile": "p"}`,
		"ignition/p.yaml": "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /etc/secret\n      contents:\n        inline: top secret\n",
		"cloud/p.cloud":   "#cloud-config\n",
		"generic/p.txt":   "secret={{.machine.mac}}\n",
	})
	bt := NewBootTokens([]string{"boot-secret-0123456789abcdef"}, time.Hour)
	e := newEnv(t, dir, func(c *Config) { c.BootTokens = bt })
	const mac = "52:54:00:89:d8:10"
	code, body, _ := e.get("/ipxe?mac=52-54-00-89-d8-10")
	if code != 200 {
		t.Fatalf("/ipxe: %d %s", code, body)
	}
	m := regexp.MustCompile(`token=([A-Za-z0-9_-]+)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no token in the /ipxe script:\n%s", body)
	}
	tok := m[1]
	tampered := []byte(tok)
	tampered[len(tampered)-3] ^= 2 // in the HMAC
	if got := bt.Verify(mac, tok); got != "" {
		t.Fatalf("the /ipxe token does not verify: %s", got)
	}
	for _, p := range []string{"/ignition", "/cloud", "/generic", "/metadata"} {
		good := p + "?mac=52-54-00-89-d8-10&token=" + url.QueryEscape(tok)
		if code, body, _ := e.get(good); code != 200 {
			t.Errorf("%s with the token: %d %s", p, code, body)
		}
		for _, bad := range []string{
			p + "?mac=52-54-00-89-d8-10",
			p + "?mac=52-54-00-89-d8-11&token=" + tok,
			p + "?token=" + tok,
			p + "?mac=52-54-00-89-d8-10&token=" + string(tampered),
		} {
			code, body, _ := e.get(bad)
			if code != 403 || strings.Contains(body, "secret") {
				t.Errorf("%s: %d %q, want 403 without the config", bad, code, body)
			}
		}
	}
	for reason, want := range map[string]float64{TokenMissing: 8, TokenWrongMAC: 4, TokenInvalid: 4, TokenExpired: 0} {
		if got := testutil.ToFloat64(e.srv.metrics.tokenRejections.WithLabelValues(reason)); got != want {
			t.Errorf("rejections{reason=%s} = %v, want %v", reason, got, want)
		}
	}
	if !strings.Contains(e.logs.String(), `"msg":"boot token refused"`) || !strings.Contains(e.logs.String(), `"reason":"wrong_mac"`) {
		t.Errorf("no log line for the refusals:\n%s", e.logs.String())
	}
	// A refused request creates no inventory record and a normal boot
	// still works.
	if code, _, _ := e.get("/ipxe?mac=52:54:00:89:d8:10"); code != 200 {
		t.Errorf("/ipxe after the refusals: %d", code)
	}
}

// TestBootTokenOff: without boot tokens, .boot_token renders empty and the
// configs need no token, as before.
func TestBootTokenOff(t *testing.T) {
	dir := writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id": "p", "boot": {"kernel": "/k", "args": ["url={{.server.url}}/generic?mac=${mac:hexhyp}&token={{.boot_token}}"]}, "generic_id": "p.txt"}`,
		"groups/g.json":   `{"id": "g", "profile": "p"}`,
		"generic/p.txt":   "hello\n",
	})
	e := newEnv(t, dir)
	code, body, _ := e.get("/ipxe?mac=52-54-00-89-d8-10")
	if code != 200 || !strings.Contains(body, "&token= ") && !strings.HasSuffix(strings.SplitN(body, "\n", 3)[1], "&token=") {
		t.Errorf("/ipxe: %d %q, want an empty token", code, body)
	}
	if code, body, _ := e.get("/generic?mac=52-54-00-89-d8-10"); code != 200 {
		t.Errorf("/generic without token: %d %s", code, body)
	}
}

// TestBootTokenCacheAndLeases: the boot render cache never serves a token
// from an earlier quarter of the TTL, and a config request refused for its
// token allocates no lease.
func TestBootTokenCacheAndLeases(t *testing.T) {
	dir := writeCatalog(t, map[string]string{
		"profiles/p.json": `{"id": "p", "boot": {"kernel": "/k", "args": ["url={{.server.url}}/generic?mac=${mac:hexhyp}&token={{.boot_token}}"]}, "generic_id": "p.txt"}`,
		"groups/g.json":   `{"id": "g", "profile": "p", "pool": "net"}`,
		"pools/net.json":  `{"name": "net", "cidr": "10.0.0.0/24", "start": "10.0.0.10", "end": "10.0.0.20"}`,
		"generic/p.txt":   "ip={{.ip.address}}\n",
	})
	now := time.Unix(1_800_000_000, 0)
	bt := NewBootTokens([]string{"boot-secret-0123456789abcdef"}, time.Hour)
	bt.Now = func() time.Time { return now }
	e := newEnv(t, dir, func(c *Config) { c.BootTokens = bt })

	if code, _, _ := e.get("/generic?mac=52:54:00:00:00:05"); code != 403 {
		t.Fatalf("without a token: %d", code)
	}
	if _, ok := e.table.Lookup("net", "52:54:00:00:00:05"); ok {
		t.Errorf("a refused config request allocated a lease")
	}

	token := func() string {
		t.Helper()
		code, body, _ := e.get("/ipxe?mac=52:54:00:00:00:06")
		m := regexp.MustCompile(`token=([A-Za-z0-9_-]+)`).FindStringSubmatch(body)
		if code != 200 || m == nil {
			t.Fatalf("/ipxe: %d %s", code, body)
		}
		return m[1]
	}
	first := token()
	if again := token(); again != first {
		t.Errorf("two tokens within a quarter of the TTL: %s %s", first, again)
	}
	now = now.Add(20 * time.Minute) // past the next quarter boundary
	second := token()
	if second == first {
		t.Fatalf("the boot cache served the token of an earlier quarter")
	}
	now = now.Add(61 * time.Minute) // first has expired; second has not
	if got := bt.Verify("52:54:00:00:00:06", first); got != TokenExpired {
		t.Errorf("first token after 81 minutes: %q, want expired", got)
	}
	if code, body, _ := e.get("/generic?mac=52:54:00:00:00:06&token=" + second); code != 200 || !strings.HasPrefix(body, "ip=10.0.0.") {
		t.Errorf("with the current token: %d %s", code, body)
	}
	if code, _, _ := e.get("/generic?mac=52:54:00:00:00:06&token=" + first); code != 403 {
		t.Errorf("with the expired token: %d, want 403", code)
	}
	if got := testutil.ToFloat64(e.srv.metrics.tokenRejections.WithLabelValues(TokenExpired)); got != 1 {
		t.Errorf("rejections{reason=expired} = %v, want 1", got)
	}
}
