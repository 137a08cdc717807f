package groups

import "testing"

// TestTyphoonInstalledConvention: Typhoon's bare-metal modules give each
// machine an install group {mac} and an installed group {mac, os=installed};
// the installed OS asks with os=installed in its query and must get the
// second, whatever the machine's lifecycle state (install_once is a
// separate, opt-in mechanism and changes nothing here).
func TestTyphoonInstalledConvention(t *testing.T) {
	const mac = "52:54:00:a1:9c:ae"
	install := &Group{ID: "node1-install", Profile: "install", Selector: SelectorOf(map[string]string{"mac": mac})}
	installed := &Group{ID: "node1", Profile: "controller", Selector: SelectorOf(map[string]string{"mac": mac, "os": "installed"})}
	other := &Group{ID: "default", Profile: "install", InstallOnce: true}
	ix, err := NewIndex([]*Group{install, installed, other})
	if err != nil {
		t.Fatal(err)
	}
	if g := ix.Select(Labels{"mac": mac}); g != install {
		t.Errorf("first boot: %v, want the install group", g)
	}
	if g := ix.Select(Labels{"mac": mac, "os": "installed"}); g != installed {
		t.Errorf("installed OS: %v, want the installed group", g)
	}
	if g := ix.Select(Labels{"mac": "52:54:00:00:00:01", "os": "installed"}); g != other {
		t.Errorf("another machine: %v, want the default", g)
	}
}
