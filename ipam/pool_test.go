package ipam

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const lanJSON = `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.0.100","end":"10.0.0.200",
	"gateway":"10.0.0.1","dns":["10.0.0.2","1.1.1.1"],"reserved":["10.0.0.150","10.0.0.5"]}`

const v6JSON = `{"name":"v6","cidr":"fd00:1::/64","start":"fd00:1::100","end":"fd00:1::1ff",
	"gateway":"fd00:1::1","dns":["fd00:1::53"],"reserved":["fd00:1::1ff"]}`

func mustDecode(t testing.TB, s string) *Pool {
	t.Helper()
	p, err := Decode([]byte(s))
	if err != nil {
		t.Fatalf("Decode(%s): %v", s, err)
	}
	return p
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestDecodeValid(t *testing.T) {
	tests := []struct {
		name        string
		json        string
		prefix      string
		first, last string
		size        int
	}{
		{"ipv4", lanJSON, "10.0.0.0/24", "10.0.0.100", "10.0.0.200", 101},
		{"ipv6", v6JSON, "fd00:1::/64", "fd00:1::100", "fd00:1::1ff", 256},
		{"single address", `{"name":"one","cidr":"192.168.1.0/24","start":"192.168.1.9","end":"192.168.1.9"}`, "192.168.1.0/24", "192.168.1.9", "192.168.1.9", 1},
		{"whole /30", `{"name":"p2p","cidr":"10.9.0.0/30","start":"10.9.0.0","end":"10.9.0.3"}`, "10.9.0.0/30", "10.9.0.0", "10.9.0.3", 4},
		{"top of the address space", `{"name":"top","cidr":"255.255.255.248/29","start":"255.255.255.250","end":"255.255.255.255"}`, "255.255.255.248/29", "255.255.255.250", "255.255.255.255", 6},
		{"ipv6 exactly MaxPoolSize", `{"name":"big","cidr":"fd00::/64","start":"fd00::","end":"fd00::f:ffff"}`, "fd00::/64", "fd00::", "fd00::f:ffff", MaxPoolSize},
		{"trailing whitespace", lanJSON + "\n", "10.0.0.0/24", "10.0.0.100", "10.0.0.200", 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustDecode(t, tt.json)
			if p.Prefix() != netip.MustParsePrefix(tt.prefix) || p.First() != addr(tt.first) || p.Last() != addr(tt.last) {
				t.Errorf("prefix, first, last = %s %s %s; want %s %s %s", p.Prefix(), p.First(), p.Last(), tt.prefix, tt.first, tt.last)
			}
			if p.Size() != tt.size {
				t.Errorf("Size = %d, want %d", p.Size(), tt.size)
			}
		})
	}
}

// decodeErrorTests is shared with FuzzDecodePool as its seed corpus.
var decodeErrorTests = []struct {
	name  string
	json  string
	field string // the error names this field
}{
	{"missing name", `{"cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20"}`, "name"},
	{"bad cidr", `{"name":"lan","cidr":"10.0.0.0/33","start":"10.0.0.10","end":"10.0.0.20"}`, "cidr"},
	{"cidr not an address", `{"name":"lan","cidr":"lan","start":"10.0.0.10","end":"10.0.0.20"}`, "cidr"},
	{"cidr missing", `{"name":"lan","start":"10.0.0.10","end":"10.0.0.20"}`, "cidr"},
	{"host bits set", `{"name":"lan","cidr":"10.0.0.1/24","start":"10.0.0.10","end":"10.0.0.20"}`, "cidr"},
	{"ipv6 host bits set", `{"name":"v6","cidr":"fd00::1/64","start":"fd00::10","end":"fd00::20"}`, "cidr"},
	{"zone in cidr", `{"name":"v6","cidr":"fe80::%eth0/64","start":"fe80::10","end":"fe80::20"}`, "cidr"},
	{"start outside", `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.1.10","end":"10.0.0.20"}`, "start"},
	{"start unparseable", `{"name":"lan","cidr":"10.0.0.0/24","start":"ten","end":"10.0.0.20"}`, "start"},
	{"start missing", `{"name":"lan","cidr":"10.0.0.0/24","end":"10.0.0.20"}`, "start"},
	{"start of the other family", `{"name":"lan","cidr":"10.0.0.0/24","start":"::ffff:10.0.0.10","end":"10.0.0.20"}`, "start"},
	{"end outside", `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.1.20"}`, "end"},
	{"end before start", `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.0.20","end":"10.0.0.10"}`, "end"},
	{"range larger than MaxPoolSize", `{"name":"v6","cidr":"fd00::/64","start":"fd00::1","end":"fd00::ffff:ffff:ffff:ffff"}`, "end"},
	{"range one larger than MaxPoolSize", `{"name":"v6","cidr":"fd00::/64","start":"fd00::","end":"fd00::10:0"}`, "end"},
	{"zone in start", `{"name":"ll","cidr":"fe80::/64","start":"fe80::10%eth0","end":"fe80::20"}`, "start"},
	{"zone in end", `{"name":"ll","cidr":"fe80::/64","start":"fe80::10","end":"fe80::20%eth0"}`, "end"},
	{"gateway outside", `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20","gateway":"10.0.1.1"}`, "gateway"},
	{"gateway unparseable", `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20","gateway":"router"}`, "gateway"},
	{"zone in gateway", `{"name":"ll","cidr":"fe80::/64","start":"fe80::10","end":"fe80::20","gateway":"fe80::1%eth0"}`, "gateway"},
	{"bad dns", `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20","dns":["10.0.0.2","dns.example.com"]}`, "dns[1]"},
	{"reserved outside", `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20","reserved":["10.0.1.5"]}`, "reserved[0]"},
	{"reserved unparseable", `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20","reserved":["10.0.0.5","x"]}`, "reserved[1]"},
	{"unknown field", `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20","netmask":"255.255.255.0"}`, "netmask"},
	{"wrong type", `{"name":"lan","cidr":"10.0.0.0/24","start":"10.0.0.10","end":"10.0.0.20","dns":"10.0.0.2"}`, "dns"},
	{"trailing object", lanJSON + `{}`, "trailing data"},
	{"trailing bracket", lanJSON + `]`, "trailing data"},
	{"trailing brace", lanJSON + `}`, "trailing data"},
	{"empty input", ``, "EOF"},
}

func TestDecodeErrors(t *testing.T) {
	for _, tt := range decodeErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode([]byte(tt.json))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode = %+v, %v; want an error wrapping ErrInvalid", p, err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %q", err, tt.field)
			}
			// Validation errors name the pool too.
			var raw struct{ Name string }
			_ = json.Unmarshal([]byte(tt.json), &raw)
			validated := slices.Contains([]string{"cidr", "start", "end", "gateway"}, tt.field) ||
				strings.HasPrefix(tt.field, "dns[") || strings.HasPrefix(tt.field, "reserved[")
			if validated && !strings.Contains(err.Error(), fmt.Sprintf("%q", raw.Name)) {
				t.Errorf("error %q does not name pool %q", err, raw.Name)
			}
		})
	}
}

func TestValidateSuggestsMaskedCIDR(t *testing.T) {
	p := &Pool{Name: "lan", CIDR: "10.0.0.1/24", Start: "10.0.0.10", End: "10.0.0.20"}
	err := p.Validate()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "10.0.0.0/24") {
		t.Fatalf("Validate = %v, want a suggestion of 10.0.0.0/24", err)
	}
}

func TestValidateAgainResetsState(t *testing.T) {
	p := mustDecode(t, lanJSON)
	if !p.IsReserved(addr("10.0.0.1")) || !p.IsReserved(addr("10.0.0.150")) {
		t.Fatal("gateway and reserved address not reserved")
	}
	p.Gateway, p.Reserved = "", nil
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.IsReserved(addr("10.0.0.1")) || p.IsReserved(addr("10.0.0.150")) {
		t.Error("Validate kept the old gateway or reservations")
	}
}

func TestOverlaps(t *testing.T) {
	pool := func(cidr string) *Pool {
		pfx := netip.MustParsePrefix(cidr)
		p := &Pool{Name: cidr, CIDR: cidr, Start: pfx.Addr().String(), End: pfx.Addr().String()}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		a, b string
		want bool
	}{
		{"10.0.0.0/24", "10.0.0.0/24", true},
		{"10.0.0.0/24", "10.0.0.0/16", true},
		{"10.0.0.0/24", "10.0.0.128/25", true},
		{"10.0.0.0/24", "10.0.1.0/24", false},
		{"10.0.0.0/25", "10.0.0.128/25", false},
		{"192.168.0.0/16", "10.0.0.0/8", false},
		{"fd00::/64", "fd00::/48", true},
		{"fd00::/64", "fd00::/64", true},
		{"fd00::/64", "fd00:0:0:1::/64", false},
		{"fd00::/64", "fd01::/64", false},
		{"0.0.0.0/0", "::/0", false},
		{"10.0.0.0/24", "::ffff:10.0.0.0/120", false},
	}
	for _, tt := range tests {
		a, b := pool(tt.a), pool(tt.b)
		if got := a.Overlaps(b); got != tt.want {
			t.Errorf("%s.Overlaps(%s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := b.Overlaps(a); got != tt.want {
			t.Errorf("%s.Overlaps(%s) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// smallPool is 10.0.0.1-10.0.0.10 with gateway .1 and .2, .5 reserved.
func smallPool(t testing.TB) *Pool {
	return mustDecode(t, `{"name":"small","cidr":"10.0.0.0/24","start":"10.0.0.1","end":"10.0.0.10",
		"gateway":"10.0.0.1","reserved":["10.0.0.2","10.0.0.5","10.0.0.200"]}`)
}

func TestAssignable(t *testing.T) {
	p := smallPool(t)
	tests := []struct {
		a                         string
		inRange, reserved, assign bool
	}{
		{"10.0.0.0", false, false, false},
		{"10.0.0.1", true, true, false}, // gateway
		{"10.0.0.2", true, true, false},
		{"10.0.0.3", true, false, true},
		{"10.0.0.5", true, true, false},
		{"10.0.0.10", true, false, true},
		{"10.0.0.11", false, false, false},
		{"10.0.0.200", false, true, false}, // reserved, out of range anyway
		{"10.0.1.3", false, false, false},
		{"::ffff:10.0.0.3", false, false, false},
		{"fd00::3", false, false, false},
	}
	for _, tt := range tests {
		a := addr(tt.a)
		if got := p.InRange(a); got != tt.inRange {
			t.Errorf("InRange(%s) = %v, want %v", a, got, tt.inRange)
		}
		if got := p.IsReserved(a); got != tt.reserved {
			t.Errorf("IsReserved(%s) = %v, want %v", a, got, tt.reserved)
		}
		if got := p.Assignable(a); got != tt.assign {
			t.Errorf("Assignable(%s) = %v, want %v", a, got, tt.assign)
		}
	}
	if p.InRange(netip.Addr{}) || p.Assignable(netip.Addr{}) {
		t.Error("the zero Addr is in range")
	}
}

func TestNext(t *testing.T) {
	p := smallPool(t)
	tests := []struct{ from, want string }{
		{"10.0.0.0", "10.0.0.3"}, // before start: the first assignable
		{"9.255.255.255", "10.0.0.3"},
		{"0.0.0.0", "10.0.0.3"},
		{"10.0.0.1", "10.0.0.3"},
		{"10.0.0.3", "10.0.0.4"},
		{"10.0.0.4", "10.0.0.6"}, // .5 reserved
		{"10.0.0.9", "10.0.0.10"},
		{"10.0.0.10", ""}, // the last
		{"10.0.0.11", ""},
		{"255.255.255.255", ""},
		{"fd00::1", ""}, // other family
	}
	for _, tt := range tests {
		got := p.Next(addr(tt.from))
		if tt.want == "" {
			if got.IsValid() {
				t.Errorf("Next(%s) = %s, want none", tt.from, got)
			}
			continue
		}
		if got != addr(tt.want) {
			t.Errorf("Next(%s) = %s, want %s", tt.from, got, tt.want)
		}
	}
}

func TestFirstFree(t *testing.T) {
	p := smallPool(t)
	taken := map[netip.Addr]bool{}
	isTaken := func(a netip.Addr) bool { return taken[a] }
	var got []netip.Addr
	for {
		a, err := p.FirstFree(isTaken)
		if err != nil {
			if !errors.Is(err, ErrExhausted) || !strings.Contains(err.Error(), `"small"`) {
				t.Fatalf("FirstFree: %v; want ErrExhausted naming \"small\"", err)
			}
			break
		}
		if !p.Assignable(a) || taken[a] {
			t.Fatalf("FirstFree = %s, which is not assignable or is taken", a)
		}
		taken[a] = true
		got = append(got, a)
	}
	want := []netip.Addr{addr("10.0.0.3"), addr("10.0.0.4"), addr("10.0.0.6"), addr("10.0.0.7"), addr("10.0.0.8"), addr("10.0.0.9"), addr("10.0.0.10")}
	if !slices.Equal(got, want) {
		t.Fatalf("allocation order = %v, want %v", got, want)
	}
	// Next walks the same addresses.
	var walk []netip.Addr
	for a := p.Next(p.First().Prev()); a.IsValid(); a = p.Next(a) {
		walk = append(walk, a)
	}
	if !slices.Equal(walk, want) {
		t.Errorf("Next walk = %v, want %v", walk, want)
	}
	// A freed address is the next one handed out.
	delete(taken, addr("10.0.0.6"))
	if a, err := p.FirstFree(isTaken); err != nil || a != addr("10.0.0.6") {
		t.Errorf("after freeing .6: FirstFree = %s, %v", a, err)
	}
}

func TestFirstFreeExhausted(t *testing.T) {
	none := func(netip.Addr) bool { return false }
	all := func(netip.Addr) bool { return true }
	tests := []struct {
		name  string
		json  string
		taken func(netip.Addr) bool
	}{
		{"all taken", lanJSON, all},
		{"only the gateway", `{"name":"gw","cidr":"10.0.0.0/24","start":"10.0.0.1","end":"10.0.0.1","gateway":"10.0.0.1"}`, none},
		{"all reserved", `{"name":"res","cidr":"10.0.0.0/24","start":"10.0.0.1","end":"10.0.0.2","reserved":["10.0.0.1","10.0.0.2"]}`, none},
		{"top of ipv4 space", `{"name":"top","cidr":"255.255.255.248/29","start":"255.255.255.250","end":"255.255.255.255"}`, all},
		{"top of ipv6 space", `{"name":"top6","cidr":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120","start":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0","end":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}`, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustDecode(t, tt.json)
			a, err := p.FirstFree(tt.taken)
			if !errors.Is(err, ErrExhausted) || a.IsValid() {
				t.Fatalf("FirstFree = %s, %v; want ErrExhausted", a, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", p.Name)) {
				t.Errorf("error %q does not name pool %q", err, p.Name)
			}
		})
	}
}

func TestFirstFreeIPv6(t *testing.T) {
	p := mustDecode(t, v6JSON)
	taken := func(a netip.Addr) bool { return a.Less(addr("fd00:1::1fe")) }
	a, err := p.FirstFree(taken)
	if err != nil || a != addr("fd00:1::1fe") {
		t.Fatalf("FirstFree = %s, %v; want fd00:1::1fe", a, err)
	}
	if n := p.Next(a); n.IsValid() {
		t.Errorf("Next(%s) = %s; fd00:1::1ff is reserved and the last", a, n)
	}
}

func TestParams(t *testing.T) {
	tests := []struct {
		name string
		json string
		a    string
		want Params
	}{
		{"ipv4 /24", lanJSON, "10.0.0.101", Params{
			Address: "10.0.0.101", Prefix: 24, CIDR: "10.0.0.101/24", Netmask: "255.255.255.0",
			Gateway: "10.0.0.1", DNS: []string{"10.0.0.2", "1.1.1.1"}, Pool: "lan"}},
		{"ipv4 /26, no gateway, no dns", `{"name":"n","cidr":"10.1.2.64/26","start":"10.1.2.70","end":"10.1.2.80"}`, "10.1.2.70", Params{
			Address: "10.1.2.70", Prefix: 26, CIDR: "10.1.2.70/26", Netmask: "255.255.255.192",
			Gateway: "", DNS: []string{}, Pool: "n"}},
		{"ipv4 /32", `{"name":"h","cidr":"10.1.2.3/32","start":"10.1.2.3","end":"10.1.2.3"}`, "10.1.2.3", Params{
			Address: "10.1.2.3", Prefix: 32, CIDR: "10.1.2.3/32", Netmask: "255.255.255.255", DNS: []string{}, Pool: "h"}},
		{"ipv6 /64", v6JSON, "fd00:1::105", Params{
			Address: "fd00:1::105", Prefix: 64, CIDR: "fd00:1::105/64", Netmask: "ffff:ffff:ffff:ffff::",
			Gateway: "fd00:1::1", DNS: []string{"fd00:1::53"}, Pool: "v6"}},
		{"ipv6 /120", `{"name":"s","cidr":"fd00::100/120","start":"fd00::110","end":"fd00::120"}`, "fd00::110", Params{
			Address: "fd00::110", Prefix: 120, CIDR: "fd00::110/120", Netmask: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00",
			DNS: []string{}, Pool: "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustDecode(t, tt.json)
			got := p.Params(addr(tt.a))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Params(%s) =\n%#v, want\n%#v", tt.a, got, tt.want)
			}
		})
	}
}

func TestParamsDNSIsACopy(t *testing.T) {
	p := mustDecode(t, lanJSON)
	got := p.Params(addr("10.0.0.101"))
	got.DNS[0] = "changed"
	if p.DNS[0] != "10.0.0.2" {
		t.Error("Params shares its DNS slice with the pool")
	}
}

func TestParamsMap(t *testing.T) {
	p := mustDecode(t, lanJSON)
	m := p.Params(addr("10.0.0.101")).Map()
	want := map[string]any{
		"address": "10.0.0.101", "prefix": 24, "cidr": "10.0.0.101/24", "netmask": "255.255.255.0",
		"gateway": "10.0.0.1", "dns": []any{"10.0.0.2", "1.1.1.1"}, "pool": "lan",
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Map() =\n%#v, want\n%#v", m, want)
	}
	// No dns: an empty list, never a missing key.
	m = mustDecode(t, `{"name":"n","cidr":"10.1.2.64/26","start":"10.1.2.70","end":"10.1.2.80"}`).Params(addr("10.1.2.70")).Map()
	if d, ok := m["dns"].([]any); !ok || len(d) != 0 {
		t.Errorf(`Map()["dns"] = %#v, want an empty []any`, m["dns"])
	}
	if len(m) != 7 {
		t.Errorf("Map() has %d keys, want 7", len(m))
	}
}
