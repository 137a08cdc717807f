package examples_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// TestSwarmGrows follows examples/README.md's "Growing the swarm": from
// one manager, each registered manager (labelled to join the running etcd
// cluster) is one more etcd member; the catalog warns while the count is
// even (2 and 4) and not at 1, 3 and 5, and the joining manager's etcd
// starts with every registered member and --initial-cluster-state=existing.
func TestSwarmGrows(t *testing.T) {
	dir := copyCatalog(t, "swarm")
	for _, m := range []string{"manager2", "manager3"} {
		if err := os.Remove(filepath.Join(dir, "machines", m+".json")); err != nil {
			t.Fatal(err)
		}
	}
	wantWarning := map[int]string{
		2: "groups/manager.json: etcd cluster of 2 members: quorum is 2 and it tolerates no failure, the same as 1 member; use 1 or 3",
		4: "groups/manager.json: etcd cluster of 4 members: quorum is 3 and it tolerates 1 failure, the same as 3 members; use 3 or 5",
	}
	for n := 1; n <= 5; n++ {
		if n > 1 {
			machine := fmt.Sprintf(`{"name": "manager%d", "mac": "52:54:00:89:d8:1%d", "labels": {"role": "manager", "etcd_initial_cluster_state": "existing"}, "leases": {"managers": "10.0.0.10%d"}}`, n, n-1, n)
			if err := os.WriteFile(filepath.Join(dir, "machines", fmt.Sprintf("manager%d.json", n)), []byte(machine), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c, err := catalog.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		snap, warnings, err := catalog.Compile(c, ipam.NewTable(nil), catalog.Options{})
		if err != nil {
			t.Fatalf("%d managers: %v", n, err)
		}
		got := strings.Join(warnings, "\n")
		if want := wantWarning[n]; want == "" && got != "" || want != "" && got != filepath.Join(dir, want) {
			t.Errorf("%d managers: warnings %q, want %q", n, got, want)
		}
		if n == 1 {
			continue
		}
		m, err := snap.Resolve(map[string]string{"mac": fmt.Sprintf("52:54:00:89:d8:1%d", n-1)})
		if err != nil {
			t.Fatal(err)
		}
		in := snap.Input(m, "", "http://provisiond.example:8080", map[string]any{"address": fmt.Sprintf("10.0.0.10%d", n), "cidr": fmt.Sprintf("10.0.0.10%d/24", n), "gateway": "10.0.0.1", "dns": []string{"10.0.0.1"}})
		out, _, err := snap.Config(profiles.KindIgnition, m, in)
		if err != nil {
			t.Fatal(err)
		}
		var members []string
		for i := 1; i <= n; i++ {
			members = append(members, fmt.Sprintf("manager%d=http://10.0.0.10%d:2380", i, i))
		}
		for _, want := range []string{"--initial-cluster=" + strings.Join(members, ","), "--initial-cluster-state=existing"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("manager%d's Ignition lacks %q", n, want)
			}
		}
	}
}
