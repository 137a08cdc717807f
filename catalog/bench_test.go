package catalog_test

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/catalogen"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

var benchSizes = []int{10, 10_000, 100_000}

var (
	snapMu    sync.Mutex
	snapCache = map[int]*catalog.Snapshot{}
)

// benchSnapshot compiles a generated catalog of n machines once per
// process, so that every benchmark at 1x stays fast.
func benchSnapshot(b *testing.B, n int) *catalog.Snapshot {
	b.Helper()
	snapMu.Lock()
	defer snapMu.Unlock()
	if s, ok := snapCache[n]; ok {
		return s
	}
	c, err := catalogen.New(n)
	if err != nil {
		b.Fatal(err)
	}
	s, _, err := catalog.Compile(c, ipam.NewTable(nil), catalog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	snapCache[n] = s
	return s
}

// BenchmarkCompile validates, indexes, compiles and trial-renders a whole
// generated catalog: the in-memory part of a start or a reload.
func BenchmarkCompile(b *testing.B) {
	for _, n := range benchSizes {
		c, err := catalogen.New(n)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := catalog.Compile(c, ipam.NewTable(nil), catalog.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// machineInput resolves machine i as a request from iPXE would, with its
// lease in its rack's pool.
func machineInput(b *testing.B, s *catalog.Snapshot, i int, rawQuery string) (*catalog.Match, profiles.Input) {
	b.Helper()
	m, err := s.Resolve(groups.Labels{"mac": catalogen.MAC(i), "arch": "x86_64"})
	if err != nil {
		b.Fatal(err)
	}
	pool := s.Pool(m)
	addr := pool.First()
	for range i % catalogen.RackSize {
		addr = pool.Next(addr)
	}
	return m, s.Input(m, rawQuery, "http://127.0.0.1:8080", pool.Params(addr).Map())
}

// BenchmarkResolve is group selection through the snapshot: registry
// lookup, label merge and index.
func BenchmarkResolve(b *testing.B) {
	for _, n := range benchSizes {
		s := benchSnapshot(b, n)
		q := groups.Labels{"mac": catalogen.MAC(n / 2), "uuid": "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d", "arch": "x86_64"}
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Resolve(q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConfig renders a machine's Butane template and translates it to
// Ignition: cold (every request distinct, so every one misses the cache)
// and cached (the same machine again), and a cloud-config, cached.
func BenchmarkConfig(b *testing.B) {
	for _, n := range benchSizes {
		s := benchSnapshot(b, n)
		b.Run(fmt.Sprintf("N=%d/butane-cold", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				m, in := machineInput(b, s, 0, fmt.Sprintf("mac=%s&cold=%d", catalogen.MAC(0), i))
				if _, _, err := s.Config(profiles.KindIgnition, m, in); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("N=%d/butane-cached", n), func(b *testing.B) {
			m, in := machineInput(b, s, 0, "mac="+catalogen.MAC(0))
			if _, _, err := s.Config(profiles.KindIgnition, m, in); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Config(profiles.KindIgnition, m, in); err != nil {
					b.Fatal(err)
				}
			}
		})
		cloud := 9 // catalogen.KindOf(9) == Cloud
		b.Run(fmt.Sprintf("N=%d/cloud-cached", n), func(b *testing.B) {
			m, in := machineInput(b, s, cloud, "mac="+catalogen.MAC(cloud))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Config(profiles.KindCloud, m, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBoot renders a profile's boot fields (kernel, initrd, args), as
// every /ipxe does.
func BenchmarkBoot(b *testing.B) {
	for _, n := range benchSizes {
		s := benchSnapshot(b, n)
		m, in := machineInput(b, s, 1, "mac="+catalogen.MAC(1))
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Boot(m, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMembers lists the etcd members, as an etcd member's Butane
// template does; the list is cached per lease table generation.
func BenchmarkMembers(b *testing.B) {
	s := benchSnapshot(b, 10_000)
	s.Leases().Put(ipam.Lease{Pool: "services", Address: netip.MustParseAddr("10.0.0.101"), MAC: "52:54:ff:00:00:01"})
	b.ReportAllocs()
	for b.Loop() {
		if ms, err := s.Members("role=services"); err != nil || len(ms) != 3 {
			b.Fatal(ms, err)
		}
	}
}
