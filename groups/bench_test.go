package groups

import (
	"fmt"
	"testing"
)

func benchMAC(i int) string {
	return fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

// benchGroups returns n machine groups, each selecting one distinct mac
// with its role and cabinet, plus a few role/cabinet groups and a default:
// the shape of a large production catalog.
func benchGroups(n int) []*Group {
	gs := make([]*Group, 0, n+5)
	for i := range n {
		role := "worker"
		if i%50 == 0 {
			role = "services"
		}
		gs = append(gs, grp(fmt.Sprintf("node%d", i), "mac", benchMAC(i), "role", role, "cabinet", fmt.Sprint(i%40)))
	}
	gs = append(gs,
		grp("workers", "role", "worker"),
		grp("services", "role", "services"),
		grp("workers-cab1", "role", "worker", "cabinet", "1"),
		grp("services-cab1", "role", "services", "cabinet", "1"),
		grp("default"),
	)
	return gs
}

func BenchmarkSelect(b *testing.B) {
	for _, n := range []int{10, 10_000, 100_000} {
		ix, err := NewIndex(benchGroups(n))
		if err != nil {
			b.Fatal(err)
		}
		known := n/2 + 1 // a worker: every 50th node is a services node
		// The labels an iPXE chain sends, merged with the machine's stored ones.
		lookups := []struct {
			name   string
			labels Labels
			want   string
		}{
			{"known", Labels{"mac": benchMAC(known), "role": "worker", "cabinet": fmt.Sprint(known % 40), "uuid": "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d", "arch": "x86_64"}, fmt.Sprintf("node%d", known)},
			{"role-only", Labels{"mac": benchMAC(n + 7), "role": "worker", "cabinet": "99", "uuid": "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d", "arch": "x86_64"}, "workers"},
			{"unknown", Labels{"mac": benchMAC(n + 7), "uuid": "5b8a7c9e-0d1f-4a2b-8c3d-4e5f6a7b8c9d", "arch": "x86_64"}, "default"},
		}
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for _, lk := range lookups {
				if got := ix.Select(lk.labels); idOf(got) != lk.want {
					b.Fatalf("%s: Select = %s, want %s", lk.name, idOf(got), lk.want)
				}
				b.Run(lk.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						ix.Select(lk.labels)
					}
				})
			}
		})
	}
}

func BenchmarkNewIndex(b *testing.B) {
	for _, n := range []int{100_000} {
		gs := benchGroups(n)
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewIndex(gs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
