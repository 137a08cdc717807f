package bolt

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/provisiond/provisiond/ipam"
)

// benchPool is a /16: 65,533 assignable addresses.
func benchPool(b *testing.B) *ipam.Pool {
	p := &ipam.Pool{Name: "bench", CIDR: "10.40.0.0/16", Start: "10.40.0.1", End: "10.40.255.254", Gateway: "10.40.0.1"}
	if err := p.Validate(); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkAllocate allocates for new macs one after the other: each call
// is a transaction of its own, on disk when it returns.
func BenchmarkAllocate(b *testing.B) {
	s := mustOpen(b, b.TempDir())
	defer s.Close()
	p := benchPool(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Allocate(b.Context(), p, crashMAC(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAllocateParallel is a boot storm: new macs from 32 goroutines
// per CPU, whose calls share transactions (bbolt Batch), so the time per
// lease falls well below one fsync.
func BenchmarkAllocateParallel(b *testing.B) {
	s := mustOpen(b, b.TempDir())
	defer s.Close()
	p := benchPool(b)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Allocate(b.Context(), p, crashMAC(int(n.Add(1)))); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAllocateScan is the search for the lowest free address alone:
// with 10,000 leases already in the pool, each iteration leases one more,
// all inside one transaction (no fsync). Without the per-pool hint this
// walked every lease of the pool.
func BenchmarkAllocateScan(b *testing.B) {
	s := mustOpen(b, b.TempDir())
	defer s.Close()
	p := &ipam.Pool{Name: "scan", CIDR: "10.64.0.0/12", Start: "10.64.0.1", End: "10.79.255.254", Gateway: "10.64.0.1"}
	if err := p.Validate(); err != nil {
		b.Fatal(err)
	}
	tx, err := s.db.Begin(true)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	i := 0
	for ; i < 10_000; i++ {
		if _, err := allocate(tx, p, crashMAC(i), 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := allocate(tx, p, crashMAC(i), 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerify is the lease check Open runs at every start, at
// 100,000 leases in 100 pools: each record decoded and compared with its
// key, both directions of the index compared one to one. Compare with
// BenchmarkLeases, the read of every lease that start-up did before.
func BenchmarkVerify(b *testing.B) {
	s := benchLeased(b, 100_000)
	defer s.Close()
	size := fileSize(s.path)
	b.ReportAllocs()
	for b.Loop() {
		if err := verify(s.db, s.path, size); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeases reads every lease, as start-up does, at 100,000 leases.
func BenchmarkLeases(b *testing.B) {
	s := benchLeased(b, 100_000)
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Leases(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// benchLeased returns a store holding n leases in pools of 1,000, written
// in one transaction.
func benchLeased(b *testing.B, n int) *Store {
	b.Helper()
	s := mustOpen(b, b.TempDir())
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var p *ipam.Pool
		for i := range n {
			if i%1000 == 0 {
				k := i / 1000
				p = &ipam.Pool{Name: fmt.Sprintf("rack%03d", k), CIDR: fmt.Sprintf("10.%d.%d.0/22", 100+k/64, (k%64)*4),
					Start: fmt.Sprintf("10.%d.%d.10", 100+k/64, (k%64)*4), End: fmt.Sprintf("10.%d.%d.250", 100+k/64, (k%64)*4+3)}
				if err := p.Validate(); err != nil {
					return err
				}
			}
			if _, err := allocate(tx, p, crashMAC(i), 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkStartup is what start-up asks of the store at 100,000 leases:
// Open (preflight, the lease check) and Leases, then Close.
func BenchmarkStartup(b *testing.B) {
	s := benchLeased(b, 100_000)
	dir := filepath.Dir(s.Path())
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Leases(b.Context()); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
