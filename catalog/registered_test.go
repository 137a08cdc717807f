package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/groups"
)

// A pool limited to registered machines: a registered machine matches its
// group; an unregistered one that claims the group's labels gets
// ErrNotRegistered (also ErrNoMatch): neither the group nor the lower
// catch-all "c", which it would get if Resolve fell through.
func TestResolveRegisteredOnly(t *testing.T) {
	files := base()
	files["pools/net.json"] = `{"name":"net","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20","gateway":"10.0.0.1","registered_only":true}`
	// The catch-all provides .role itself (base's generic template uses
	// it; a top-level key a group does not provide is a load error).
	files["groups/c.json"] = `{"id":"c","profile":"p","selector":{},"metadata":{"role":"none"}}`
	s, _, err := load(t, files)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Resolve(groups.Labels{"mac": "52:54:00:00:00:02"})
	if err != nil || m.Group.ID != "b" || s.Pool(m) == nil {
		t.Fatalf("registered m2: %+v, %v", m, err)
	}
	for _, q := range []groups.Labels{
		{"mac": "52:54:00:00:00:99", "role": "b"},
		{"uuid": "8a0e4f2b-0000-4000-8000-000000000099", "role": "b"},
	} {
		m, err := s.Resolve(q)
		if !errors.Is(err, ErrNotRegistered) || !errors.Is(err, ErrNoMatch) {
			t.Fatalf("unregistered %v: %v, want ErrNotRegistered and ErrNoMatch", q, err)
		}
		if m.Group != nil || s.Pool(m) != nil {
			t.Errorf("unregistered %v: matched group %v", q, m.Group.ID)
		}
		for _, w := range []string{`group "b"`, `pool "net"`, "is not registered"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	}
	// Without a claim, the unregistered machine gets the catch-all as ever.
	if m, err := s.Resolve(groups.Labels{"mac": "52:54:00:00:00:99"}); err != nil || m.Group.ID != "c" {
		t.Errorf("unregistered, no claim: %v, %v", m, err)
	}
	// The same catalog without the limit: the claim is honoured.
	files["pools/net.json"] = base()["pools/net.json"]
	s, _, err = load(t, files)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.Resolve(groups.Labels{"mac": "52:54:00:00:00:99", "role": "b"}); err != nil || m.Group.ID != "b" {
		t.Errorf("unlimited pool: %v, %v", m, err)
	}
}
