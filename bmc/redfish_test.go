package bmc

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// mockup serves the DMTF's published Redfish mockup public-rackmount1
// (testdata/dmtf-public-rackmount1, copied unchanged; see its README)
// the way the DMTF's mockup server does, behind HTTP Basic
// authentication, and plays the BMC for the two writes provisiond sends:
// a POST of #ComputerSystem.Reset changes PowerState, a PATCH of Boot
// changes the boot override. It records every write.
type mockup struct {
	mu     sync.Mutex
	system map[string]any // the ComputerSystem, as served and changed
	writes []string       // "POST /path {body}"
}

const mockupSystem = "/redfish/v1/Systems/437XR1138R2"

func newMockup(t *testing.T, tls bool) (*mockup, *httptest.Server) {
	t.Helper()
	dir := filepath.Join("testdata", "dmtf-public-rackmount1")
	read := func(rel string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, rel, "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	m := &mockup{}
	if err := json.Unmarshal(read("Systems/437XR1138R2"), &m.system); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"/redfish/v1/": read("."), "/redfish/v1/Systems": read("Systems")}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "Administrator" || p != "mockup-pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="redfish"`)
			http.Error(w, `{"error":{"message":"unauthorized"}}`, http.StatusUnauthorized)
			return
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		path := strings.TrimSuffix(r.URL.Path, "/")
		switch {
		case r.Method == http.MethodGet && path == mockupSystem:
			_ = json.NewEncoder(w).Encode(m.system)
		case r.Method == http.MethodGet && files[r.URL.Path] != nil:
			_, _ = w.Write(files[r.URL.Path])
		case r.Method == http.MethodGet && files[path] != nil:
			_, _ = w.Write(files[path])
		case r.Method == http.MethodPost && path == mockupSystem+"/Actions/ComputerSystem.Reset":
			body, _ := io.ReadAll(r.Body)
			m.writes = append(m.writes, "POST "+path+" "+string(body))
			var req struct{ ResetType string }
			if json.Unmarshal(body, &req) != nil {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			switch req.ResetType {
			case "On", "ForceOn", "ForceRestart", "GracefulRestart", "PowerCycle":
				m.system["PowerState"] = "On"
			case "ForceOff", "GracefulShutdown":
				m.system["PowerState"] = "Off"
			default:
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":{"code":"Base.1.8.ActionParameterNotSupported","message":"x","@Message.ExtendedInfo":[{"Message":"The parameter ResetType for the action ComputerSystem.Reset is not supported on the target resource."}]}}`))
				return
			}
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodPatch && path == mockupSystem:
			body, _ := io.ReadAll(r.Body)
			m.writes = append(m.writes, "PATCH "+path+" "+string(body))
			var req struct{ Boot map[string]any }
			if json.Unmarshal(body, &req) != nil || req.Boot == nil {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			boot := m.system["Boot"].(map[string]any)
			for k, v := range req.Boot {
				boot[k] = v
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return m, srv
}

func (m *mockup) Writes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.writes...)
}

func (m *mockup) Boot() map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.system["Boot"].(map[string]any)
}

func TestRedfishAgainstDMTFMockup(t *testing.T) {
	m, srv := newMockup(t, true)
	c := &Controller{Passwords: envSource(map[string]string{"RF": "mockup-pw"})}
	cfg := Config{Type: Redfish, Address: srv.URL, Username: "Administrator", PasswordEnv: "RF", Insecure: true}
	ctx := t.Context()

	// The mockup's system is on.
	if st, err := c.Power(ctx, cfg, Status); err != nil || st != PowerOn {
		t.Fatalf("status %q, %v", st, err)
	}
	if _, err := c.Power(ctx, cfg, Off); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Power(ctx, cfg, Status); st != PowerOff {
		t.Fatalf("status after off: %q", st)
	}
	// Reprovisioning: boot override once to PXE, then, the system being
	// off, On (a cycle of a machine that is off turns it on).
	if err := c.NetbootAndCycle(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// And a cycle of a running system: the mockup allows no PowerCycle,
	// so ForceRestart.
	if _, err := c.Power(ctx, cfg, Cycle); err != nil {
		t.Fatal(err)
	}
	if err := c.SetBootDevice(ctx, cfg, Disk, true); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST " + mockupSystem + `/Actions/ComputerSystem.Reset {"ResetType":"ForceOff"}`,
		"PATCH " + mockupSystem + ` {"Boot":{"BootSourceOverrideEnabled":"Once","BootSourceOverrideTarget":"Pxe"}}`,
		"POST " + mockupSystem + `/Actions/ComputerSystem.Reset {"ResetType":"On"}`,
		"POST " + mockupSystem + `/Actions/ComputerSystem.Reset {"ResetType":"ForceRestart"}`,
		"PATCH " + mockupSystem + ` {"Boot":{"BootSourceOverrideEnabled":"Continuous","BootSourceOverrideTarget":"Hdd"}}`,
	}
	got := m.Writes()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if b := m.Boot(); b["BootSourceOverrideTarget"] != "Hdd" || b["BootSourceOverrideMode"] != "UEFI" {
		t.Errorf("boot after the writes: %v", b)
	}
}

func TestRedfishFailures(t *testing.T) {
	m, srv := newMockup(t, true)
	ctx := t.Context()
	c := &Controller{Passwords: envSource(map[string]string{"RF": "mockup-pw", "BAD": "guess"})}

	_, err := c.Power(ctx, Config{Type: Redfish, Address: srv.URL, Username: "Administrator", PasswordEnv: "BAD", Insecure: true}, Off)
	if !errors.Is(err, ErrCredentials) || strings.Contains(err.Error(), "guess") {
		t.Errorf("wrong password: %v", err)
	}
	// Without insecure, the self-signed certificate is refused.
	_, err = c.Power(ctx, Config{Type: Redfish, Address: srv.URL, Username: "Administrator", PasswordEnv: "RF"}, Off)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("self-signed without insecure: %v", err)
	}
	if w := m.Writes(); len(w) != 0 {
		t.Errorf("writes after refusals: %v", w)
	}
	// Nothing listens: unreachable.
	addr := srv.Listener.Addr().String()
	srv.Close()
	_, err = c.Power(ctx, Config{Type: Redfish, Address: "https://" + addr, Username: "Administrator", PasswordEnv: "RF", Insecure: true}, Status)
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("closed server: %v", err)
	}
}

func TestRedfishPlainHTTP(t *testing.T) {
	_, srv := newMockup(t, false)
	c := &Controller{Passwords: envSource(map[string]string{"RF": "mockup-pw"})}
	st, err := c.Power(t.Context(), Config{Type: Redfish, Address: srv.URL, Username: "Administrator", PasswordEnv: "RF"}, Status)
	if err != nil || st != PowerOn {
		t.Fatalf("status %q, %v", st, err)
	}
}
