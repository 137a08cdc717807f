package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/lifecycle"
)

// TestNoAuthLoopbackOnly: without an Authenticator (an admin listener
// without authentication, which provisiond allows on loopback only) the
// console lets everyone in as anonymous, but only at a loopback host: a
// request naming another host (a DNS name pointed at 127.0.0.1) is
// refused.
func TestNoAuthLoopbackOnly(t *testing.T) {
	r := newRig(t, Config{})
	r.bootFleet(t)
	con, err := New(Config{Catalogs: r.Catalogs, Inventory: r.Rec, Leases: r.Leases, Hub: r.Hub})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con)
	t.Cleanup(srv.Close)
	t.Cleanup(con.Close)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for _, tc := range []struct {
		host string
		code int
	}{
		{"127.0.0.1" + port, http.StatusOK},
		{"localhost" + port, http.StatusOK},
		{"[::1]" + port, http.StatusOK},
		{"127.0.0.2", http.StatusOK},
		{"rebound.example" + port, http.StatusForbidden},
		{"10.0.0.1" + port, http.StatusForbidden},
		{"127.0.0.1.example" + port, http.StatusForbidden},
	} {
		t.Run(tc.host, func(t *testing.T) {
			c := client(t)
			req, _ := http.NewRequest("GET", srv.URL+"/console/machines", nil)
			req.Host = tc.host
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			page := body(t, resp)
			if resp.StatusCode != tc.code {
				t.Fatalf("Host %s: %d, want %d\n%s", tc.host, resp.StatusCode, tc.code, page)
			}
			if tc.code == http.StatusOK && (!strings.Contains(page, "anonymous") || !strings.Contains(page, node1MAC)) {
				t.Errorf("Host %s: not the machines page, signed in as anonymous:\n%s", tc.host, page)
			}
			if tc.code == http.StatusForbidden && !strings.Contains(page, "answers only at a loopback address") {
				t.Errorf("Host %s: refused without saying why:\n%s", tc.host, page)
			}
		})
	}
}

// TestResolvePreviewer: the preview of a machine is what the boot
// endpoints would answer it, with the labels its last group was selected
// by, and says why there is none.
func TestResolvePreviewer(t *testing.T) {
	r := newRig(t, Config{})
	r.bootFleet(t)
	p := &ResolvePreviewer{Catalogs: r.Catalogs, Leases: r.Leases, Inventory: r.Rec, ServerURL: r.Boot.URL}
	ctx := context.Background()

	// node1 is registered: its registered labels select its group.
	got, err := p.Preview(ctx, node1MAC, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Group != "services" || got.LeaseState != "pinned" || got.Address != "10.0.0.101" || got.ConfigKind != "ignition" {
		t.Errorf("node1: %+v", got)
	}
	for _, w := range got.Warnings {
		if strings.Contains(w, "previewed with") {
			t.Errorf("node1's registered labels select its group, yet: %s", w)
		}
	}
	if !strings.HasPrefix(got.IPXE, "#!ipxe") || !strings.Contains(got.IPXE, r.Boot.URL) {
		t.Errorf("node1's /ipxe:\n%s", got.IPXE)
	}
	// The same as the boot endpoint answers it.
	resp, err := http.Get(r.Boot.URL + "/ipxe?mac=" + node1MAC)
	if err != nil {
		t.Fatal(err)
	}
	if served := body(t, resp); served != got.IPXE {
		t.Errorf("the preview is not what /ipxe serves:\npreview:\n%s\nserved:\n%s", got.IPXE, served)
	}

	// worker1 matched its group by a query label, role=worker, which the
	// inventory does not keep: it is previewed with its group's selector.
	got, err = p.Preview(ctx, worker1, "")
	if err != nil {
		t.Fatalf("worker1: %v", err)
	}
	if got.Group != "worker" || len(got.Warnings) == 0 || !strings.Contains(got.Warnings[0], "(role=worker)") {
		t.Errorf("worker1: %+v", got)
	}

	// The unknown machine matched nothing and still matches nothing.
	if _, err := p.Preview(ctx, strangerM, ""); err == nil || !strings.Contains(err.Error(), "no group matches") {
		t.Errorf("the unknown machine: %v", err)
	}
}

// TestServiceActions: the machine page's actions are the lifecycle
// service's, recorded in the machine's timeline with the operator's
// identity and published to the live views; an action not offered is
// refused.
func TestServiceActions(t *testing.T) {
	r := newRig(t, Config{})
	r.bootFleet(t)
	a := &ServiceActions{Service: &lifecycle.Service{Inventory: r.Hub.TeeInventory(r.Rec)}, Catalogs: r.Catalogs, Inventory: r.Rec}
	sub, err := r.Hub.Subscribe(node1MAC, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx := context.Background()
	names := func(key string) string {
		var n []string
		for _, act := range a.Actions(key) {
			n = append(n, act.Name)
		}
		return strings.Join(n, " ")
	}
	if got := names(node1MAC); got != "reprovision mark-installed mark-failed" {
		t.Errorf("node1's actions (no BMC): %q", got)
	}
	msg, err := a.Do(ctx, node1MAC, "reprovision", "token:01234567")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg, "node1 is marked reprovisioning: no bmc registered") {
		t.Errorf("reprovision said %q", msg)
	}
	// The live views see it, through the hub.
	select {
	case e := <-sub.C():
		if e.Endpoint != inventory.EndpointOperator || e.MAC != node1MAC {
			t.Errorf("live event %+v, want node1's operator event", e)
		}
	default:
		t.Error("the reprovision was not published to the live views")
	}
	m, _ := r.Rec.Get(node1MAC)
	if m.State != inventory.Reprovisioning || m.Events[len(m.Events)-1].Cause != "console: token:01234567" {
		t.Errorf("after reprovision: state %s, last event %+v", m.State, m.Events[len(m.Events)-1])
	}
	if msg, err := a.Do(ctx, worker1, "mark-installed", "cert:ops"); err != nil || msg != worker1+" is now installed" {
		t.Errorf("mark installed: %q, %v", msg, err)
	}
	if got := names(worker1); got != "reprovision mark-failed" {
		t.Errorf("an installed machine's actions: %q", got)
	}
	for _, action := range []string{"mark-installed", "power-on", "delete", ""} {
		if _, err := a.Do(ctx, worker1, action, "cert:ops"); err == nil || !strings.Contains(err.Error(), "not an action offered") {
			t.Errorf("%q: %v", action, err)
		}
	}
}

// TestEndSessions: the sessions of an identity no longer accepted end,
// pages go back to the login form; the others stay.
func TestEndSessions(t *testing.T) {
	r := newRig(t, Config{})
	c := loggedIn(t, r)
	who, _ := tokenAuth{tokens: []string{testToken}}.CheckToken(testToken)
	if n := r.Console.EndSessions(func(id string) bool { return id == who }); n != 0 {
		t.Errorf("ended %d sessions of an accepted identity", n)
	}
	get(t, r, c, "/console/machines")
	if n := r.Console.EndSessions(func(id string) bool { return id != who }); n != 1 {
		t.Errorf("ended %d sessions, want 1", n)
	}
	resp, err := c.Get(r.Admin.URL + "/console/machines")
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
		t.Errorf("after its identity was dropped: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
