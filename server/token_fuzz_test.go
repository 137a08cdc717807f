package server

import (
	"testing"
	"time"

	"github.com/provisiond/provisiond/groups"
)

// FuzzBootTokenVerify feeds Verify any mac and token a client could send:
// it never panics, answers one of the documented reasons, accepts a token
// only for the mac it was issued for, and never accepts a changed token.
func FuzzBootTokenVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	bt := NewBootTokens([]string{"fuzz-secret-0123456789abcdef"}, time.Hour)
	bt.Now = func() time.Time { return now }
	good := bt.Issue("52:54:00:89:d8:10")
	f.Add("52:54:00:89:d8:10", good)
	f.Add("52:54:00:89:d8:11", good)
	f.Add("52:54:00:89:d8:10", "")
	f.Add("", good)
	f.Add("52:54:00:89:d8:10", good[:len(good)-1]+"A")
	f.Add("52:54:00:89:d8:10", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("52:54:00:89:d8:10", "%00%ff")
	f.Add("52:54:00:89:d8:10", good[:len(good)-1]+string(good[len(good)-1]^1)) // the same bytes in a non-canonical spelling, or not
	f.Fuzz(func(t *testing.T, rawMAC, token string) {
		switch r := bt.Verify(rawMAC, token); r {
		case "", TokenMissing, TokenExpired, TokenInvalid, TokenWrongMAC:
			if r == "" && token != good {
				t.Fatalf("Verify(%q, %q) accepted a token that was never issued", rawMAC, token)
			}
			if r == "" && rawMAC != "52:54:00:89:d8:10" {
				t.Fatalf("Verify(%q, %q) accepted another machine's token", rawMAC, token)
			}
		default:
			t.Fatalf("Verify(%q, %q) = %q: not a documented reason", rawMAC, token, r)
		}
		mac, err := groups.ParseMAC(rawMAC)
		if err != nil {
			return
		}
		tok := bt.Issue(mac)
		if r := bt.Verify(mac, tok); r != "" {
			t.Fatalf("a fresh token for %s is refused: %s", mac, r)
		}
	})
}
