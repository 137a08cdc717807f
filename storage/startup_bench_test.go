package storage_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/catalogen"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

var (
	startupDirsMu sync.Mutex
	startupDirs   = map[string]string{}
)

// startupDir writes a generated catalog of n machines of shape to a
// directory once per process.
func startupDir(b *testing.B, shape catalogen.Shape, n int) string {
	b.Helper()
	startupDirsMu.Lock()
	defer startupDirsMu.Unlock()
	key := string(shape) + "-" + strconv.Itoa(n)
	if d, ok := startupDirs[key]; ok {
		return d
	}
	c, err := shape.New(n)
	if err != nil {
		b.Fatal(err)
	}
	d, err := os.MkdirTemp("", "startup-bench-")
	if err != nil {
		b.Fatal(err)
	}
	if err := catalogen.Write(d, c); err != nil {
		b.Fatal(err)
	}
	startupDirs[key] = d
	return d
}

// BenchmarkStartup is provisiond serve's catalog start-up on bbolt, as
// cmd/provisiond does it: "dir" loads --catalog into a new database
// (LoadDir, Compile, write); "dir-again" loads the same directory into a
// database that already holds it; "stored" serves the stored catalog (no
// --catalog). Use -cpuprofile to see where the time goes. It runs 10,000
// machines of each shape; PROVISIOND_STARTUP_BENCH_N=100000 (a
// comma-separated list) sets the sizes, so that .ci/run's pass over every
// benchmark stays short.
func BenchmarkStartup(b *testing.B) {
	sizes := []int{10_000}
	if env := os.Getenv("PROVISIOND_STARTUP_BENCH_N"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("PROVISIOND_STARTUP_BENCH_N=%q: want machine counts, comma-separated", env)
			}
			sizes = append(sizes, n)
		}
	}
	b.Cleanup(func() {
		startupDirsMu.Lock()
		defer startupDirsMu.Unlock()
		for key, d := range startupDirs {
			os.RemoveAll(d)
			delete(startupDirs, key)
		}
	})
	for _, shape := range []catalogen.Shape{catalogen.Matchbox, catalogen.Pooled} {
		for _, n := range sizes {
			name := string(shape) + "/" + strconv.Itoa(n)
			// Each phase's time per load is reported as a metric of its
			// own: read (LoadDir), replace (read the stored catalog,
			// Compile, write) or stored (read the stored catalog and
			// leases, Compile).
			var phases map[string]time.Duration
			load := func(b *testing.B, dataDir string, fromDir bool) {
				st, err := bolt.Open(dataDir)
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				cs := &storage.Catalogs{Store: st, Leases: ipam.NewTable(nil)}
				ctx := context.Background()
				if !fromDir {
					t := time.Now()
					if _, _, err := cs.LoadStored(ctx); err != nil {
						b.Fatal(err)
					}
					phases["stored"] += time.Since(t)
					return
				}
				t := time.Now()
				c, err := catalog.LoadDir(startupDir(b, shape, n))
				if err != nil {
					b.Fatal(err)
				}
				phases["read"] += time.Since(t)
				t = time.Now()
				if _, _, err := cs.Replace(ctx, c); err != nil {
					b.Fatal(err)
				}
				phases["replace"] += time.Since(t)
			}
			report := func(b *testing.B) {
				for name, d := range phases {
					b.ReportMetric(d.Seconds()/float64(b.N), name+"-s/op")
				}
			}
			b.Run(name+"/dir", func(b *testing.B) {
				startupDir(b, shape, n)
				phases = map[string]time.Duration{}
				for b.Loop() {
					b.StopTimer()
					d := b.TempDir()
					b.StartTimer()
					load(b, d, true)
				}
				report(b)
			})
			b.Run(name+"/dir-again", func(b *testing.B) {
				d := b.TempDir()
				phases = map[string]time.Duration{}
				load(b, d, true)
				phases = map[string]time.Duration{}
				for b.Loop() {
					load(b, d, true)
				}
				report(b)
			})
			b.Run(name+"/stored", func(b *testing.B) {
				d := b.TempDir()
				phases = map[string]time.Duration{}
				load(b, d, true)
				phases = map[string]time.Duration{}
				for b.Loop() {
					load(b, d, false)
				}
				report(b)
			})
		}
	}
}
