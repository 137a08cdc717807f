package catalog

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"unsafe"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/ipam"
)

// A shaper computes dataShape hashes into one reused buffer: each value's
// shape is written as bytes (see shapeBytes) and every map entry hashed
// with maphash.Bytes, so a shape costs no allocation and no maphash.Hash
// set-up per entry. At 100,000 groups, hashing each group's data through
// maphash.Hash was half a second of every load.
type shaper struct {
	buf []byte
	// ip caches the shape of the "ip" entry by pool and address: every
	// group of a pool without a lease shares the pool's first address.
	ip map[trialIPKey]uint64
	// server is the shape of the constant "server" entry.
	server  uint64
	haveSrv bool
	// long caches the shapes of long strings by their bytes' address: the
	// group decoder shares a string that repeats from group to group (an
	// SSH key in every group's metadata), so a million groups would
	// shape the same hundred bytes a million times. An entry keeps its
	// string, so its address cannot be reused by another one.
	long [longShapes]longShape
}

// longShapes is the size of shaper.long; longShapeMin the shortest string
// it caches.
const (
	longShapes   = 64
	longShapeMin = 32
)

type longShape struct {
	s     string
	shape []byte
}

// appendStringShape is stringShape(b, s), from long when s's bytes are
// there.
func (sh *shaper) appendStringShape(b []byte, s string) []byte {
	if len(s) < longShapeMin {
		return stringShape(b, s)
	}
	p := unsafe.StringData(s)
	e := &sh.long[(uintptr(unsafe.Pointer(p))>>4^uintptr(len(s)))%longShapes]
	if unsafe.StringData(e.s) == p && len(e.s) == len(s) {
		return append(b, e.shape...)
	}
	start := len(b)
	b = stringShape(b, s)
	*e = longShape{s: s, shape: slices.Clone(b[start:])}
	return b
}

type trialIPKey struct {
	pool string
	addr netip.Addr
}

// entry is the shape of one map entry k: v (entryShape).
func (sh *shaper) entry(k string, v any) uint64 {
	start := len(sh.buf)
	sh.buf = append(sh.buf, k...)
	sh.buf = append(sh.buf, 0)
	sh.value(v)
	h := maphash.Bytes(shapeSeed, sh.buf[start:])
	sh.buf = sh.buf[:start]
	return h
}

// stringEntry is entry(k, v) for a string v, without boxing it.
func (sh *shaper) stringEntry(k, v string) uint64 {
	start := len(sh.buf)
	sh.buf = append(sh.buf, k...)
	sh.buf = append(sh.buf, 0, '"')
	sh.buf = sh.appendStringShape(sh.buf, v)
	sh.buf = append(sh.buf, '"')
	h := maphash.Bytes(shapeSeed, sh.buf[start:])
	sh.buf = sh.buf[:start]
	return h
}

// mapBytes appends the shape of a map of n entries whose entry shapes
// sum to sum.
func (sh *shaper) mapBytes(n int, sum uint64) {
	var b [17]byte
	b[0] = '{'
	binary.LittleEndian.PutUint64(b[1:9], uint64(n))
	binary.LittleEndian.PutUint64(b[9:], sum)
	sh.buf = append(sh.buf, b[:]...)
}

// value appends the shape of v: maps as their length and the sum of their
// entries' shapes (so that order does not matter), lists element by
// element, strings by stringShape, anything else by type and value.
func (sh *shaper) value(v any) {
	switch x := v.(type) {
	case map[string]any:
		var sum uint64
		for k, e := range x {
			sum += sh.entry(k, e)
		}
		sh.mapBytes(len(x), sum)
	case map[string]string:
		var sum uint64
		for k, e := range x {
			sum += sh.stringEntry(k, e)
		}
		sh.mapBytes(len(x), sum)
	case groups.Labels:
		var sum uint64
		for k, e := range x {
			sum += sh.stringEntry(k, e)
		}
		sh.mapBytes(len(x), sum)
	case []any:
		sh.buf = append(sh.buf, '[')
		for _, e := range x {
			sh.value(e)
			sh.buf = append(sh.buf, ',')
		}
		sh.buf = append(sh.buf, ']')
	case []string:
		sh.buf = append(sh.buf, '[')
		for _, e := range x {
			sh.value(e)
			sh.buf = append(sh.buf, ',')
		}
		sh.buf = append(sh.buf, ']')
	case string:
		sh.buf = append(sh.buf, '"')
		sh.buf = sh.appendStringShape(sh.buf, x)
		sh.buf = append(sh.buf, '"')
	case float64:
		// Numbers are kept whole (as fmt's %T(%v) kept them): a template
		// may branch on one. The bits tell 0 from -0.
		sh.buf = append(sh.buf, "float64("...)
		sh.buf = binary.LittleEndian.AppendUint64(sh.buf, math.Float64bits(x))
		sh.buf = append(sh.buf, ')')
	case bool:
		sh.buf = append(sh.buf, "bool("...)
		sh.buf = strconv.AppendBool(sh.buf, x)
		sh.buf = append(sh.buf, ')')
	case nil:
		sh.buf = append(sh.buf, "nil"...)
	default:
		sh.buf = fmt.Appendf(sh.buf, "%T(%v)", v, v)
	}
}

// shape is dataShape(v), computed with sh's buffer.
func (sh *shaper) shape(v any) uint64 {
	start := len(sh.buf)
	sh.value(v)
	h := maphash.Bytes(shapeSeed, sh.buf[start:])
	sh.buf = sh.buf[:start]
	return h
}

// trialShapes is trialShapes of the data map, with sh's buffer.
func (sh *shaper) trialShapes(data map[string]any, f shapeFilters) groupShape {
	var acc shapeSums
	for k, v := range data {
		if f.wants(k) {
			acc.add(f, k, sh.entry(k, v))
		}
	}
	old, hasOld := data["boot_token"]
	return sh.withBootToken(f, acc, old, hasOld)
}

// keyFilter is a set of the data's top-level keys: those a profile's
// templates read (profiles.Template.Reads). nil stands for every key (a
// template that reads the data whole).
type keyFilter map[string]struct{}

func (f keyFilter) has(k string) bool {
	if f == nil {
		return true
	}
	_, ok := f[k]
	return ok
}

// shapeFilters are the keys the shapes of a profile's groups are taken
// over: data, the keys its config templates read (Ignition, cloud-config,
// generic: the data shape is their trial key); boot, the keys its boot
// fields read (the boot shape). A shape over the keys a template reads
// tells the renders that can differ apart as well as one over the whole
// data (TestReadsRenderSame), and a group's other metadata (its serial,
// its disks, a key only another profile uses) no longer makes a shape of
// its own to check.
type shapeFilters struct{ data, boot keyFilter }

// everyKey is the filters of the shapes over the whole data.
var everyKey = shapeFilters{}

func (f shapeFilters) wants(k string) bool { return f.data.has(k) || f.boot.has(k) }

// shapeSums sums the entry shapes of a data map's two shapes (see
// shapeFilters) and counts their entries.
type shapeSums struct {
	dataN, bootN     int
	dataSum, bootSum uint64
}

// add adds the shape h of the entry of key k to the shapes that take k.
func (a *shapeSums) add(f shapeFilters, k string, h uint64) {
	if f.data.has(k) {
		a.dataSum += h
		a.dataN++
	}
	if f.boot.has(k) {
		a.bootSum += h
		a.bootN++
	}
}

// withBootToken returns the data shape of acc, and the boot shape of acc
// with boot_token set to trialBootToken (old is the data's boot_token
// value when hasOld), each over its filter.
func (sh *shaper) withBootToken(f shapeFilters, acc shapeSums, old any, hasOld bool) groupShape {
	bootN, bootSum := acc.bootN, acc.bootSum
	if f.boot.has("boot_token") {
		bootSum += sh.stringEntry("boot_token", trialBootToken)
		if hasOld {
			bootSum -= sh.entry("boot_token", old)
		} else {
			bootN++
		}
	}
	return groupShape{data: sh.mapShape(acc.dataN, acc.dataSum), boot: sh.mapShape(bootN, bootSum)}
}

func (sh *shaper) mapShape(n int, sum uint64) uint64 {
	start := len(sh.buf)
	sh.mapBytes(n, sum)
	h := maphash.Bytes(shapeSeed, sh.buf[start:])
	sh.buf = sh.buf[:start]
	return h
}

// groupShapes returns the shapes of the trial data of group g, which no
// registered machine selects (profiles.Data of trialInput(g, nil)),
// computed from g's own metadata and selector without building the data:
// the entries provisiond adds (request, server, machine, ip) are hashed
// from the selector, and the ones every group shares (server, the ip of a
// pool's first address) once per load. TestGroupShapesAgree checks it
// against the shapes of the built data.
func (s *Snapshot) groupShapes(sh *shaper, g *groups.Group, f shapeFilters) groupShape {
	mac, hasMAC := g.Selector.Get("mac")
	if !hasMAC || mac == "" {
		mac = trialMAC
	}
	var pool *ipam.Pool
	if g.Pool != "" {
		pool = s.Catalog.Pools[g.Pool]
	}
	reserved := func(k string) bool {
		return k == "request" || k == "server" || k == "machine" || (k == "ip" && pool != nil)
	}
	// The data's entries: metadata, then selector over it, then the
	// reserved keys over both; each hashed only when a shape takes it.
	var acc shapeSums
	var bootToken any
	hasBootToken := false
	for k, v := range g.Metadata.All() {
		if _, over := g.Selector.Get(k); over || reserved(k) {
			continue
		}
		if k == "boot_token" {
			bootToken, hasBootToken = v, true
		}
		if f.wants(k) {
			acc.add(f, k, sh.entry(k, v))
		}
	}
	for k, v := range g.Selector.All() {
		if reserved(k) {
			continue
		}
		if k == "boot_token" {
			bootToken, hasBootToken = v, true
		}
		if f.wants(k) {
			acc.add(f, k, sh.stringEntry(k, v))
		}
	}
	if f.wants("request") {
		acc.add(f, "request", sh.requestEntry(g, mac, hasMAC))
	}
	// server: {url: trialServerURL}, the same for every group.
	if f.wants("server") {
		if !sh.haveSrv {
			sh.server = sh.entry("server", map[string]any{"url": trialServerURL})
			sh.haveSrv = true
		}
		acc.add(f, "server", sh.server)
	}
	if f.wants("machine") {
		acc.add(f, "machine", sh.machineEntry(g, mac))
	}
	// ip: the pool's parameters at the group's address.
	if pool != nil && f.wants("ip") {
		addr := pool.First()
		if l, ok := s.leases.Lookup(pool.Name, mac); ok {
			addr = l.Address
		}
		key := trialIPKey{pool.Name, addr}
		h, ok := sh.ip[key]
		if !ok {
			h = sh.entry("ip", pool.Params(addr).Map())
			if sh.ip == nil {
				sh.ip = map[trialIPKey]uint64{}
			}
			sh.ip[key] = h
		}
		acc.add(f, "ip", h)
	}
	return sh.withBootToken(f, acc, bootToken, hasBootToken)
}

// requestEntry is the shape of group g's request entry: {query: the
// facts, raw_query: them as k=v&..., sorted}. The facts are the
// selector's, with the trial mac when it has none (hasMAC false).
func (sh *shaper) requestEntry(g *groups.Group, mac string, hasMAC bool) uint64 {
	facts := len(g.Selector)
	if !hasMAC {
		facts++
	}
	var qsum uint64
	for k, v := range g.Selector.All() {
		if k == "mac" {
			v = mac
		}
		qsum += sh.stringEntry(k, v)
	}
	if !hasMAC {
		qsum += sh.stringEntry("mac", mac)
	}
	var keysBuf [8]string
	keys := keysBuf[:0]
	for k := range g.Selector.All() {
		keys = append(keys, k)
	}
	if !hasMAC {
		keys = append(keys, "mac")
	}
	slices.Sort(keys)
	// raw_query's shape: the shapes of its keys, values and separators
	// (all punctuation, so no run of letters and digits spans two).
	start := len(sh.buf)
	sh.buf = append(sh.buf, "request"...)
	sh.buf = append(sh.buf, 0)
	var rsum uint64
	{
		q := len(sh.buf)
		sh.buf = append(sh.buf, "query"...)
		sh.buf = append(sh.buf, 0)
		sh.mapBytes(facts, qsum)
		rsum += maphash.Bytes(shapeSeed, sh.buf[q:])
		sh.buf = sh.buf[:q]
		sh.buf = append(sh.buf, "raw_query"...)
		sh.buf = append(sh.buf, 0, '"')
		for i, k := range keys {
			if i > 0 {
				sh.buf = append(sh.buf, '&')
			}
			v, _ := g.Selector.Get(k)
			if k == "mac" {
				v = mac
			}
			sh.buf = sh.appendStringShape(sh.buf, k)
			sh.buf = append(sh.buf, '=')
			sh.buf = sh.appendStringShape(sh.buf, v)
		}
		sh.buf = append(sh.buf, '"')
		rsum += maphash.Bytes(shapeSeed, sh.buf[q:])
		sh.buf = sh.buf[:q]
	}
	sh.mapBytes(2, rsum)
	h := maphash.Bytes(shapeSeed, sh.buf[start:])
	sh.buf = sh.buf[:start]
	return h
}

// machineEntry is the shape of group g's machine entry: {name: "", mac,
// uuid, labels: {}}.
func (sh *shaper) machineEntry(g *groups.Group, mac string) uint64 {
	start := len(sh.buf)
	sh.buf = append(sh.buf, "machine"...)
	sh.buf = append(sh.buf, 0)
	msum := sh.stringEntry("name", "") + sh.stringEntry("mac", mac) + sh.stringEntry("uuid", selectorValue(g.Selector, "uuid"))
	{
		q := len(sh.buf)
		sh.buf = append(sh.buf, "labels"...)
		sh.buf = append(sh.buf, 0)
		sh.mapBytes(0, 0)
		msum += maphash.Bytes(shapeSeed, sh.buf[q:])
		sh.buf = sh.buf[:q]
	}
	sh.mapBytes(4, msum)
	h := maphash.Bytes(shapeSeed, sh.buf[start:])
	sh.buf = sh.buf[:start]
	return h
}

// trialMAC is the mac of trial data for a group that selects none.
const trialMAC = "52:54:00:00:00:00"

// selectorValue returns the value of key in sel, "" when it has none.
func selectorValue(sel groups.Selector, key string) string {
	v, _ := sel.Get(key)
	return v
}
