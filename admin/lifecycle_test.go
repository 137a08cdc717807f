package admin

import (
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ipmibmc "github.com/bougou/go-ipmi/pkg/bmc"
	"github.com/bougou/go-ipmi/pkg/clock"
	"github.com/bougou/go-ipmi/pkg/hal/mock"
	"github.com/bougou/go-ipmi/pkg/server"
	"github.com/bougou/go-ipmi/pkg/transport/udp"

	"github.com/provisiond/provisiond/bmc"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/lifecycle"
)

const bmcPassword = "admin-test-bmc-s3cret"

// startBMC runs go-ipmi's reference BMC (RMCP+ over UDP on 127.0.0.1, a
// mock chassis behind it) with one administrator.
func startBMC(t *testing.T) string {
	t.Helper()
	m := mock.New()
	var guid [16]byte
	copy(guid[:], "provisiond-admin")
	b := ipmibmc.New(ipmibmc.DeviceInfo{DeviceID: 32, DeviceRevision: 1, FirmwareMajor: 1, IPMIVersion: 0x20, ManufacturerID: 0x000157, ProductID: 1}, guid, m, ipmibmc.WithClock(clock.Real))
	u, err := b.Users.Add(2, "admin")
	if err != nil {
		t.Fatal(err)
	}
	u.SetPassword([]byte(bmcPassword))
	u.Enabled = true
	u.ChannelAccess[1] = ipmibmc.UserChannelAccess{MaxPrivilege: ipmibmc.PrivilegeLevelAdministrator, Enabled: true}
	conn, err := udp.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewServer(b, conn)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); _ = srv.Close(); <-done })
	return conn.LocalAddr().String()
}

// lifecycleAPI is the admin API of e with the lifecycle wired as
// provisiond serve wires it: lifecycle.Service over the env's recorder, a
// bmc.Controller reading passwords from a fake environment.
func lifecycleAPI(t *testing.T, e *adminEnv) *httptest.Server {
	t.Helper()
	env := map[string]string{"NODE_BMC_PW": bmcPassword, "WRONG_BMC_PW": "not-the-password"}
	ctl := &bmc.Controller{Timeout: 3 * time.Second, MaxSessions: 2,
		Passwords: bmc.Source{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}}
	svc := &lifecycle.Service{Inventory: e.rec, BMC: ctl, Logger: e.adm.log}
	adm := New(Config{Logger: e.adm.log, Catalogs: e.cats, Releaser: e.cats, Inventory: e.rec, Leases: e.table, BootURL: e.boot.URL, Lifecycle: svc})
	s := httptest.NewServer(adm)
	t.Cleanup(s.Close)
	return s
}

// TestAdminLifecycle drives the lifecycle routes against a real IPMI BMC
// over UDP: marks, power, reprovisioning with and without a BMC, the
// failures (wrong password, unreachable BMC) with their statuses, and
// checks that the BMC's password is in no answer and no log line.
func TestAdminLifecycle(t *testing.T) {
	e := newAdminEnv(t, testCatalogDir, nil)
	api := lifecycleAPI(t, e)
	do := func(method, path, body string) (int, string) {
		t.Helper()
		old := e.admin
		e.admin = api
		defer func() { e.admin = old }()
		code, out, _ := e.do(method, path, body)
		if strings.Contains(out, bmcPassword) {
			t.Fatalf("%s %s answered the BMC password: %s", method, path, out)
		}
		return code, out
	}
	addr := startBMC(t)
	// A closed UDP port: nothing answers.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	for name, cfg := range map[string]string{
		"bmcnode": `{"type": "ipmi", "address": "` + addr + `", "username": "admin", "password_env": "NODE_BMC_PW"}`,
		"wrongpw": `{"type": "ipmi", "address": "` + addr + `", "username": "admin", "password_env": "WRONG_BMC_PW"}`,
		"deadbmc": `{"type": "ipmi", "address": "` + dead + `", "username": "admin", "password_env": "NODE_BMC_PW"}`,
		"nopw":    `{"type": "ipmi", "address": "` + addr + `", "username": "admin", "password_env": "UNSET_BMC_PW"}`,
	} {
		mac := map[string]string{"bmcnode": "52:54:00:b0:00:01", "wrongpw": "52:54:00:b0:00:02", "deadbmc": "52:54:00:b0:00:03", "nopw": "52:54:00:b0:00:04"}[name]
		if code, body := do("PUT", "/api/v1/machines/"+name, `{"name": "`+name+`", "mac": "`+mac+`", "bmc": `+cfg+`}`); code/100 != 2 {
			t.Fatalf("register %s: %d %s", name, code, body)
		}
	}
	// A machine only seen (not registered): it booted the default group.
	if code, _, _ := e.bootGet("/ipxe?mac=52:54:00:5e:e0:01&role=nothing"); code != 200 {
		t.Fatalf("seen-only boot: %d", code)
	}

	tests := []struct {
		name, path, body string
		code             int
		want             string
	}{
		{"power status", "/api/v1/machines/bmcnode/power", `{"op": "status"}`, 200, `"power": "off"`},
		{"power on", "/api/v1/machines/bmcnode/power", `{"op": "on"}`, 200, `"power": "on"`},
		{"power status after on", "/api/v1/machines/bmcnode/power", `{"op": "status"}`, 200, `"power": "on"`},
		{"power cycle", "/api/v1/machines/bmcnode/power", `{"op": "cycle"}`, 200, `"machine": "bmcnode"`},
		{"unknown op", "/api/v1/machines/bmcnode/power", `{"op": "dance"}`, 400, `"field": "op"`},
		{"unknown field", "/api/v1/machines/bmcnode/power", `{"op": "on", "force": true}`, 422, "unknown field"},
		{"no body", "/api/v1/machines/bmcnode/power", ``, 400, "empty body"},
		{"wrong password", "/api/v1/machines/wrongpw/power", `{"op": "on"}`, 502, "bmc credentials"},
		{"password unset", "/api/v1/machines/nopw/power", `{"op": "status"}`, 502, "UNSET_BMC_PW is not set"},
		{"bmc unreachable", "/api/v1/machines/deadbmc/power", `{"op": "status"}`, 504, "bmc unreachable"},
		{"seen-only has no bmc", "/api/v1/machines/52:54:00:5e:e0:01/power", `{"op": "status"}`, 409, "no bmc registered"},
		{"unknown machine", "/api/v1/machines/ghost/power", `{"op": "status"}`, 404, "neither registered nor seen"},
		{"state observed only", "/api/v1/machines/bmcnode/state", `{"state": "booting"}`, 400, "an operator may set"},
		{"state unknown", "/api/v1/machines/bmcnode/state", `{"state": "asleep"}`, 400, `"field": "state"`},
		{"mark installed", "/api/v1/machines/bmcnode/state", `{"state": "Installed", "reason": "adopted"}`, 200, `"state": "installed"`},
		{"reprovision", "/api/v1/machines/bmcnode/reprovision", `{"reason": "new disk"}`, 200, `"power_cycled": true`},
		{"reprovision, empty body", "/api/v1/machines/bmcnode/reprovision", ``, 200, `"state": "reprovisioning"`},
		{"reprovision without bmc", "/api/v1/machines/52:54:00:5e:e0:01/reprovision", `{}`, 200, `"warning": "no bmc registered: power-cycle the machine`},
		{"reprovision, bmc fails", "/api/v1/machines/deadbmc/reprovision", `{"reason": "x"}`, 504, "is marked reprovisioning, but the power cycle failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do("POST", tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("POST %s %s: %d %s\nwant %d containing %q", tc.path, tc.body, code, body, tc.code, tc.want)
			}
		})
	}

	// The machine view: state, timeline, BMC operations in the events (the
	// refused mark to booting is one too, with its cause),
	// the bmc's type and never its password.
	code, body := do("GET", "/api/v1/machines/bmcnode", "")
	var v MachineView
	if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil {
		t.Fatalf("GET bmcnode: %d %s %v", code, body, err)
	}
	var changes, events []string
	for _, c := range v.Changes {
		changes = append(changes, string(c.To)+"("+c.Cause+")")
	}
	for _, ev := range v.Events {
		events = append(events, ev.Endpoint)
	}
	if v.State != inventory.Reprovisioning || v.BMC != "ipmi" ||
		strings.Join(changes, " ") != "installed(operator: adopted) reprovisioning(operator: new disk)" ||
		strings.Join(events, " ") != "bmc:on bmc:cycle operator operator operator bmc:reprovision operator bmc:reprovision" {
		t.Errorf("bmcnode: state %s, bmc %q, changes %v, events %v", v.State, v.BMC, changes, events)
	}
	// bmcnode was marked and power-cycled but never booted: never seen.
	if v.FirstSeen != nil || v.LastSeen != nil || strings.Contains(body, "0001-01-01") {
		t.Errorf("bmcnode was never seen, but its view has first_seen %v, last_seen %v", v.FirstSeen, v.LastSeen)
	}
	if code, body := do("GET", "/api/v1/machines?state=reprovisioning", ""); code != 200 || !strings.Contains(body, `"name": "deadbmc"`) {
		t.Errorf("list by state: %d %s", code, body)
	}
	if strings.Contains(e.logs.String(), bmcPassword) {
		t.Errorf("the BMC password is in the log:\n%s", e.logs.String())
	}

	// Without a lifecycle, the routes answer 503.
	if code, body, _ := e.do("POST", "/api/v1/machines/bmcnode/power", `{"op": "status"}`); code != 503 {
		t.Errorf("without a lifecycle: %d %s", code, body)
	}
}

// FuzzLifecycleBodies sends arbitrary bodies to the lifecycle routes of a
// machine only seen (so no BMC is ever dialed): whatever the body, the
// answer is never a 500, and errors are JSON.
func FuzzLifecycleBodies(f *testing.F) {
	for _, s := range []string{
		`{"state": "installed", "reason": "adopted"}`, `{"state": "booting"}`, `{"state": 5}`,
		`{"reason": "new disk"}`, `{"op": "cycle"}`, `{"op": "status", "x": 1}`,
		`null`, `[]`, `{`, "", `{"state": "installed"} {}`,
	} {
		f.Add(s)
	}
	e := newAdminEnv(f, testCatalogDir, nil)
	e.rec.Record("52:54:00:f0:00:01", "", inventory.Event{Endpoint: "/ipxe", Status: 404})
	adm := New(Config{Catalogs: e.cats, Inventory: e.rec, Leases: e.table,
		Lifecycle: &lifecycle.Service{Inventory: e.rec, BMC: &bmc.Controller{Timeout: time.Second}}})
	f.Fuzz(func(t *testing.T, body string) {
		for _, route := range []string{"state", "reprovision", "power"} {
			p := "/api/v1/machines/52:54:00:f0:00:01/" + route
			rec := httptest.NewRecorder()
			adm.ServeHTTP(rec, httptest.NewRequest("POST", p, strings.NewReader(body)))
			if rec.Code >= 500 {
				t.Fatalf("POST %s %q: %d %s", p, body, rec.Code, rec.Body)
			}
			if rec.Code >= 400 {
				var eb ErrorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == "" {
					t.Fatalf("POST %s %q: error not JSON: %s", p, body, rec.Body)
				}
			}
		}
	})
}
