package rpc

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/golang/protobuf/proto"
	pb "github.com/poseidon/matchbox/matchbox/server/serverpb"
	"github.com/poseidon/matchbox/matchbox/storage/storagepb"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

const (
	rawIgnition = `{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["ssh-ed25519 AAAA"]}]}}`
	butane      = "variant: fcos\nversion: 1.4.0\npasswd:\n  users:\n    - name: core\n"
)

// Typhoon's bare-metal objects, as terraform-provider-matchbox writes them.
func installProfile() *storagepb.Profile {
	return &storagepb.Profile{
		Id: "node1-install",
		Boot: &storagepb.NetBoot{
			Kernel: "/assets/fedora-coreos/fedora-coreos-live-kernel-x86_64",
			Initrd: []string{"--name main /assets/fedora-coreos/fedora-coreos-live-initramfs.x86_64.img"},
			Args: []string{"initrd=main", "coreos.inst.install_dev=/dev/sda",
				"coreos.inst.ignition_url=http://matchbox.example.com:8080/ignition?uuid=${uuid}&mac=${mac:hexhyp}"},
		},
		IgnitionId: "node1-install.ign",
	}
}

func installedProfile() *storagepb.Profile {
	return &storagepb.Profile{Id: "node1", Boot: &storagepb.NetBoot{}, IgnitionId: "node1.ign"}
}

func code(err error) codes.Code { return status.Code(err) }

// TestEveryRPC drives every method with matchbox's own client over mutual
// TLS, in the order Terraform does (profile before its templates, groups
// last; destroy in any order), and checks each write in the served
// snapshot and in the store.
func TestEveryRPC(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()

	// A profile before the template it names, as the provider does.
	if _, err := c.Profiles.ProfilePut(ctx, &pb.ProfilePutRequest{Profile: installProfile()}); err != nil {
		t.Fatalf("ProfilePut before its template: %v", err)
	}
	if _, err := c.Ignition.IgnitionPut(ctx, &pb.IgnitionPutRequest{Name: "node1-install.ign", Config: []byte(rawIgnition)}); err != nil {
		t.Fatalf("IgnitionPut: %v", err)
	}
	if _, err := c.Profiles.ProfilePut(ctx, &pb.ProfilePutRequest{Profile: installedProfile()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ignition.IgnitionPut(ctx, &pb.IgnitionPutRequest{Name: "node1.ign", Config: []byte(rawIgnition)}); err != nil {
		t.Fatal(err)
	}
	// container_linux_config and generic_config.
	butaneProfile := &storagepb.Profile{Id: "worker", Name: "Worker", Boot: &storagepb.NetBoot{Kernel: "/k"}, IgnitionId: "worker.yaml.tmpl", GenericId: "worker"}
	if _, err := c.Profiles.ProfilePut(ctx, &pb.ProfilePutRequest{Profile: butaneProfile}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ignition.IgnitionPut(ctx, &pb.IgnitionPutRequest{Name: "worker.yaml.tmpl", Config: []byte(butane)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Generic.GenericPut(ctx, &pb.GenericPutRequest{Name: "worker", Config: []byte("role={{ .role }}\n")}); err != nil {
		t.Fatal(err)
	}

	// Groups: by mac, and by mac+os=installed; one written with an upper
	// case key and a hyphenated mac, which GroupGet must give back as is.
	install := &storagepb.Group{Id: "node1-install", Profile: "node1-install", Selector: map[string]string{"mac": "52:54:00:a1:9c:ae"}, Metadata: []byte(`{"pxe":"true"}`)}
	installed := &storagepb.Group{Id: "node1", Profile: "node1", Selector: map[string]string{"mac": "52:54:00:a1:9c:ae", "os": "installed"}}
	worker := &storagepb.Group{Id: "worker", Name: "workers", Profile: "worker", Selector: map[string]string{"Role": "worker", "MAC": "52-54-00-B2-2F-86"}, Metadata: []byte(`{"role":"worker","ssh":"x"}`)}
	for _, g := range []*storagepb.Group{install, installed, worker} {
		if _, err := c.Groups.GroupPut(ctx, &pb.GroupPutRequest{Group: g}); err != nil {
			t.Fatalf("GroupPut %s: %v", g.Id, err)
		}
	}

	// Get returns exactly what was put.
	for _, want := range []*storagepb.Profile{installProfile(), installedProfile(), butaneProfile} {
		got, err := c.Profiles.ProfileGet(ctx, &pb.ProfileGetRequest{Id: want.Id})
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got.Profile, want) {
			t.Errorf("ProfileGet %s = %v, want %v", want.Id, got.Profile, want)
		}
	}
	for _, want := range []*storagepb.Group{install, installed, worker} {
		got, err := c.Groups.GroupGet(ctx, &pb.GroupGetRequest{Id: want.Id})
		if err != nil {
			t.Fatal(err)
		}
		if got.Group.Id != want.Id || got.Group.Name != want.Name || got.Group.Profile != want.Profile || !reflect.DeepEqual(got.Group.Selector, want.Selector) || !sameJSON(t, got.Group.Metadata, want.Metadata) {
			t.Errorf("GroupGet %s = %v, want %v", want.Id, got.Group, want)
		}
	}
	for name, want := range map[string]string{"node1-install.ign": rawIgnition, "worker.yaml.tmpl": butane} {
		got, err := c.Ignition.IgnitionGet(ctx, &pb.IgnitionGetRequest{Name: name})
		if err != nil || string(got.Config) != want {
			t.Errorf("IgnitionGet %s = %q, %v", name, got.GetConfig(), err)
		}
	}
	if got, err := c.Generic.GenericGet(ctx, &pb.GenericGetRequest{Name: "worker"}); err != nil || string(got.Config) != "role={{ .role }}\n" {
		t.Errorf("GenericGet = %q, %v", got.GetConfig(), err)
	}

	// Lists, sorted by id.
	gl, err := c.Groups.GroupList(ctx, &pb.GroupListRequest{})
	if err != nil || len(gl.Groups) != 3 || gl.Groups[0].Id != "node1" || gl.Groups[2].Id != "worker" {
		t.Errorf("GroupList = %v, %v", gl, err)
	}
	pl, err := c.Profiles.ProfileList(ctx, &pb.ProfileListRequest{})
	if err != nil || len(pl.Profiles) != 3 || pl.Profiles[0].Id != "node1" {
		t.Errorf("ProfileList = %v, %v", pl, err)
	}

	// Select: labels parsed as a boot request's query.
	sg, err := c.Select.SelectGroup(ctx, &pb.SelectGroupRequest{Labels: map[string]string{"mac": "52-54-00-A1-9C-AE", "os": "installed"}})
	if err != nil || sg.Group.Id != "node1" {
		t.Errorf("SelectGroup(installed) = %v, %v", sg, err)
	}
	sp, err := c.Select.SelectProfile(ctx, &pb.SelectProfileRequest{Labels: map[string]string{"mac": "52:54:00:a1:9c:ae"}})
	if err != nil || !proto.Equal(sp.Profile, installProfile()) {
		t.Errorf("SelectProfile(install) = %v, %v", sp, err)
	}
	sg, err = c.Select.SelectGroup(ctx, &pb.SelectGroupRequest{Labels: map[string]string{"ROLE": "worker", "mac": "52:54:00:b2:2f:86"}})
	if err != nil || sg.Group.Id != "worker" || sg.Group.Selector["MAC"] != "52-54-00-B2-2F-86" {
		t.Errorf("SelectGroup(worker) = %v, %v", sg, err)
	}
	if _, err := c.Select.SelectGroup(ctx, &pb.SelectGroupRequest{Labels: map[string]string{"mac": "52:54:00:00:00:01"}}); code(err) != codes.NotFound || !strings.Contains(err.Error(), "matchbox: No matching Group") {
		t.Errorf("SelectGroup(unknown) error %v, want NotFound", err)
	}

	// The writes are the served catalog, and are stored.
	snap := e.cats.Current()
	m, err := snap.Resolve(groups.Labels{"mac": "52:54:00:a1:9c:ae", "os": "installed"})
	if err != nil || m.Group.ID != "node1" {
		t.Fatalf("served catalog: %v, %v", m, err)
	}
	ign, _, err := snap.Config(profiles.KindIgnition, m, snap.Input(m, "", "http://x", nil))
	if err != nil || string(ign) != rawIgnition {
		t.Errorf("served ignition = %q, %v", ign, err)
	}
	stored := e.stored()
	if len(stored.Groups) != 3 || len(stored.Profiles) != 3 || stored.Templates[profiles.KindIgnition]["node1.ign"] != rawIgnition || stored.Groups["worker"].Written.Map()["MAC"] != "52-54-00-B2-2F-86" {
		t.Errorf("stored: %d groups, %d profiles, %v", len(stored.Groups), len(stored.Profiles), stored.Groups["worker"])
	}

	// Deletes in any order: a template in use, then a profile in use.
	if _, err := c.Ignition.IgnitionDelete(ctx, &pb.IgnitionDeleteRequest{Name: "node1-install.ign"}); err != nil {
		t.Fatalf("IgnitionDelete of a template in use: %v", err)
	}
	m, err = e.cats.Current().Resolve(groups.Labels{"mac": "52:54:00:a1:9c:ae"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.cats.Current().Config(profiles.KindIgnition, m, e.cats.Current().Input(m, "", "http://x", nil)); err == nil || !strings.Contains(err.Error(), "node1-install.ign") {
		t.Errorf("ignition of a profile whose template is gone: %v, want an error naming it", err)
	}
	if _, err := c.Profiles.ProfileDelete(ctx, &pb.ProfileDeleteRequest{Id: "node1"}); err != nil {
		t.Fatalf("ProfileDelete of a profile in use: %v", err)
	}
	sp, err = c.Select.SelectProfile(ctx, &pb.SelectProfileRequest{Labels: map[string]string{"mac": "52:54:00:a1:9c:ae", "os": "installed"}})
	if code(err) != codes.NotFound || !strings.Contains(err.Error(), "matchbox: No matching Profile") || !strings.Contains(err.Error(), `"node1"`) {
		t.Errorf("SelectProfile with the profile gone = %v, %v; want NotFound saying why", sp, err)
	}
	if sg, err := c.Select.SelectGroup(ctx, &pb.SelectGroupRequest{Labels: map[string]string{"mac": "52:54:00:a1:9c:ae", "os": "installed"}}); err != nil || sg.Group.Id != "node1" {
		t.Errorf("SelectGroup with the profile gone = %v, %v; want the group, as matchbox", sg, err)
	}
	for _, del := range []func() error{
		func() error { _, err := c.Groups.GroupDelete(ctx, &pb.GroupDeleteRequest{Id: "node1"}); return err },
		func() error {
			_, err := c.Groups.GroupDelete(ctx, &pb.GroupDeleteRequest{Id: "node1-install"})
			return err
		},
		func() error {
			_, err := c.Ignition.IgnitionDelete(ctx, &pb.IgnitionDeleteRequest{Name: "node1.ign"})
			return err
		},
		func() error {
			_, err := c.Profiles.ProfileDelete(ctx, &pb.ProfileDeleteRequest{Id: "node1-install"})
			return err
		},
		func() error {
			_, err := c.Generic.GenericDelete(ctx, &pb.GenericDeleteRequest{Name: "worker"})
			return err
		},
	} {
		if err := del(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Groups.GroupGet(ctx, &pb.GroupGetRequest{Id: "node1"}); code(err) != codes.NotFound {
		t.Errorf("GroupGet after delete: %v, want NotFound", err)
	}
	if _, err := c.Profiles.ProfileGet(ctx, &pb.ProfileGetRequest{Id: "node1-install"}); code(err) != codes.NotFound {
		t.Errorf("ProfileGet after delete: %v, want NotFound", err)
	}
	if _, err := c.Generic.GenericGet(ctx, &pb.GenericGetRequest{Name: "worker"}); code(err) != codes.NotFound {
		t.Errorf("GenericGet after delete: %v, want NotFound", err)
	}
	if _, err := c.Ignition.IgnitionGet(ctx, &pb.IgnitionGetRequest{Name: "node1.ign"}); code(err) != codes.NotFound {
		t.Errorf("IgnitionGet after delete: %v, want NotFound", err)
	}
	// Metrics: every call by method and code, every change by outcome.
	for _, m := range []struct {
		method, code string
		want         float64
	}{
		{"/rpcpb.Groups/GroupPut", "OK", 3},
		{"/rpcpb.Profiles/ProfilePut", "OK", 3},
		{"/rpcpb.Select/SelectGroup", "NotFound", 1},
		{"/rpcpb.Select/SelectProfile", "NotFound", 1},
		{"/rpcpb.Groups/GroupGet", "NotFound", 1},
	} {
		if got := promtest.ToFloat64(e.srv.metrics.requests.WithLabelValues(m.method, m.code)); got != m.want {
			t.Errorf("provisiond_rpc_requests_total{method=%q,code=%q} = %v, want %v", m.method, m.code, got, m.want)
		}
	}
	if got := promtest.ToFloat64(e.srv.metrics.changes.WithLabelValues("put", "ok")); got != 10 {
		t.Errorf("provisiond_rpc_catalog_changes_total{op=put,result=ok} = %v, want 10", got)
	}
	// The same labels as provisiond_admin_catalog_changes_total, so that one
	// query sums the changes of both APIs.
	if err := promtest.GatherAndCompare(e.reg, strings.NewReader(`
# HELP provisiond_rpc_catalog_changes_total Catalog changes through the matchbox gRPC API by operation (put, delete) and result (ok, refused).
# TYPE provisiond_rpc_catalog_changes_total counter
provisiond_rpc_catalog_changes_total{op="delete",result="ok"} 7
provisiond_rpc_catalog_changes_total{op="put",result="ok"} 10
`), "provisiond_rpc_catalog_changes_total"); err != nil {
		t.Error(err)
	}
	if n, err := promtest.GatherAndCount(e.reg, "provisiond_rpc_requests_total", "provisiond_rpc_request_duration_seconds", "provisiond_rpc_catalog_changes_total"); err != nil || n == 0 {
		t.Errorf("registry: %d series, %v", n, err)
	}

	stored = e.stored()
	if len(stored.Groups) != 1 || len(stored.Profiles) != 1 || len(stored.Templates[profiles.KindIgnition]) != 1 {
		t.Errorf("stored after deletes: groups %v, profiles %v, ignition %v", stored.Groups, stored.Profiles, stored.Templates[profiles.KindIgnition])
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// TestRefusals: bad input gets InvalidArgument naming what is wrong, a
// missing object NotFound, and nothing changes.
func TestRefusals(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		code codes.Code
		want string
	}{
		{"group without profile", func() error {
			_, err := c.Groups.GroupPut(ctx, &pb.GroupPutRequest{Group: &storagepb.Group{Id: "g"}})
			return err
		}, codes.InvalidArgument, "profile is required"},
		{"group bad mac", func() error {
			_, err := c.Groups.GroupPut(ctx, &pb.GroupPutRequest{Group: &storagepb.Group{Id: "g", Profile: "p", Selector: map[string]string{"mac": "zz"}}})
			return err
		}, codes.InvalidArgument, "mac"},
		{"group metadata not an object", func() error {
			_, err := c.Groups.GroupPut(ctx, &pb.GroupPutRequest{Group: &storagepb.Group{Id: "g", Profile: "p", Metadata: []byte(`[1]`)}})
			return err
		}, codes.InvalidArgument, "metadata"},
		{"group id with a slash", func() error {
			_, err := c.Groups.GroupPut(ctx, &pb.GroupPutRequest{Group: &storagepb.Group{Id: "../g", Profile: "p"}})
			return err
		}, codes.InvalidArgument, "group id"},
		{"no group", func() error { _, err := c.Groups.GroupPut(ctx, &pb.GroupPutRequest{}); return err }, codes.InvalidArgument, "group is required"},
		{"no profile", func() error { _, err := c.Profiles.ProfilePut(ctx, &pb.ProfilePutRequest{}); return err }, codes.InvalidArgument, "profile is required"},
		{"template name", func() error {
			_, err := c.Ignition.IgnitionPut(ctx, &pb.IgnitionPutRequest{Name: "a/b", Config: []byte("x")})
			return err
		}, codes.InvalidArgument, "template name"},
		{"raw ignition 2.x", func() error {
			_, err := c.Ignition.IgnitionPut(ctx, &pb.IgnitionPutRequest{Name: "x.ign", Config: []byte(`{"ignition":{"version":"2.2.0"}}`)})
			return err
		}, codes.InvalidArgument, "x.ign"},
		{"butane unknown key", func() error {
			_, err := c.Ignition.IgnitionPut(ctx, &pb.IgnitionPutRequest{Name: "x.yaml.tmpl", Config: []byte("variant: fcos\nversion: 1.4.0\nstorage:\n  filez: []\n")})
			return err
		}, codes.InvalidArgument, "filez"},
		{"generic template syntax", func() error {
			_, err := c.Generic.GenericPut(ctx, &pb.GenericPutRequest{Name: "g", Config: []byte("{{ if }}")})
			return err
		}, codes.InvalidArgument, "generic/g"},
		{"select bad mac", func() error {
			_, err := c.Select.SelectGroup(ctx, &pb.SelectGroupRequest{Labels: map[string]string{"mac": "nope"}})
			return err
		}, codes.InvalidArgument, "mac"},
		{"get missing group", func() error { _, err := c.Groups.GroupGet(ctx, &pb.GroupGetRequest{Id: "nope"}); return err }, codes.NotFound, `"nope"`},
		{"delete missing group", func() error { _, err := c.Groups.GroupDelete(ctx, &pb.GroupDeleteRequest{Id: "nope"}); return err }, codes.NotFound, `"nope"`},
		{"delete missing profile", func() error {
			_, err := c.Profiles.ProfileDelete(ctx, &pb.ProfileDeleteRequest{Id: "nope"})
			return err
		}, codes.NotFound, `"nope"`},
		{"delete missing template", func() error {
			_, err := c.Ignition.IgnitionDelete(ctx, &pb.IgnitionDeleteRequest{Name: "nope.ign"})
			return err
		}, codes.NotFound, "nope.ign"},
		{"select in an empty catalog", func() error {
			_, err := c.Select.SelectProfile(ctx, &pb.SelectProfileRequest{Labels: map[string]string{"mac": "52:54:00:00:00:01"}})
			return err
		}, codes.NotFound, "No matching Profile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if code(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %v mentioning %q", err, tc.code, tc.want)
			}
		})
	}
	if got := promtest.ToFloat64(e.srv.metrics.changes.WithLabelValues("put", "refused")); got != 3 {
		t.Errorf("refused puts counted %v, want 3 (butane, ignition 2.x, generic syntax: the others are refused before the catalog)", got)
	}
	if s := e.stored(); len(s.Groups)+len(s.Profiles)+len(s.Templates[profiles.KindIgnition])+len(s.Templates[profiles.KindGeneric]) != 0 {
		t.Errorf("refused writes were stored: %+v", s)
	}
}
