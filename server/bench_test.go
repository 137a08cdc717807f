package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/catalogen"
	"github.com/provisiond/provisiond/internal/reqlog"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// benchServer serves a generated catalog of n machines from a real bbolt
// store, with an inventory recorder and a text logger at info level (to
// io.Discard), as `provisiond serve` wires them.
func benchServer(b *testing.B, n int) *Server {
	return benchShapeServer(b, catalogen.Pooled, n)
}

// benchShapeServer is benchServer for a catalog of the given shape.
func benchShapeServer(b *testing.B, shape catalogen.Shape, n int) *Server {
	b.Helper()
	c, err := shape.New(n)
	if err != nil {
		b.Fatal(err)
	}
	store, err := bolt.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	table := ipam.NewTable(nil)
	snap, _, err := storage.Apply(context.Background(), store, table, c, catalog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	// The daemon's logger (provisiond serve's newLogger), to io.Discard.
	log := slog.New(reqlog.NewTextHandler(io.Discard, nil))
	rec := inventory.NewRecorder(store, nil, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	s := New(Config{Logger: log, Allocator: store, Leases: table, Recorder: rec})
	s.Swap(snap)
	return s
}

// discardWriter is the cheapest http.ResponseWriter, so that the
// benchmarks measure the server, not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func serveOnce(s *Server, w *discardWriter, r *http.Request) error {
	clear(w.h)
	w.code = http.StatusOK
	s.ServeHTTP(w, r)
	if w.code != http.StatusOK {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		return fmt.Errorf("%s: %d %s", r.URL, rec.Code, rec.Body)
	}
	return nil
}

// BenchmarkHandler is the whole handler path (router, middleware with its
// log line and metrics, resolve, render, inventory) for a known machine
// that already holds its lease, at three catalog sizes.
func BenchmarkHandler(b *testing.B) {
	for _, n := range []int{10, 10_000, 100_000} {
		s := benchServer(b, n)
		known := min(n-1, 4) // Butane: catalogen.KindOf(4) == Butane
		raw := min(n-1, 5)   // raw Ignition
		mac := hexMAC(known)
		paths := []struct{ name, path string }{
			{"boot.ipxe", "/boot.ipxe"},
			{"ipxe", "/ipxe?uuid=&mac=" + mac + "&domain=&hostname=&serial=&arch=x86_64"},
			{"ignition-butane", "/ignition?mac=" + mac},
			{"ignition-raw", "/ignition?mac=" + hexMAC(raw)},
			{"metadata", "/metadata?mac=" + mac},
		}
		for _, p := range paths {
			b.Run(fmt.Sprintf("N=%d/%s", n, p.name), func(b *testing.B) {
				r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+p.path, nil)
				w := &discardWriter{h: http.Header{}}
				if err := serveOnce(s, w, r); err != nil { // leases the machine, fills the cache
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := serveOnce(s, w, r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkHandlerMatchbox is BenchmarkHandler on the matchbox shape at
// 100,000 machines (one group per machine with its own metadata), each
// endpoint of bootstorm's steady state for machines that already booted.
// The requests cycle through 1,000 machines, as bootstorm's do, so that
// the render caches and the index are used as in the steady state.
func BenchmarkHandlerMatchbox(b *testing.B) {
	const n = 100_000
	s := benchShapeServer(b, catalogen.Matchbox, n)
	var ipxe, butane, raw, md []string
	for i := range 1000 {
		mac := hexMAC(i)
		ipxe = append(ipxe, "/ipxe?uuid=&mac="+mac+"&domain=&hostname=&serial=&arch=x86_64")
		md = append(md, "/metadata?mac="+mac)
		if catalogen.Matchbox.Kind(i) == catalogen.Butane {
			butane = append(butane, "/ignition?mac="+mac)
		} else {
			raw = append(raw, "/ignition?mac="+mac)
		}
	}
	for _, p := range []struct {
		name  string
		paths []string
	}{
		{"boot.ipxe", []string{"/boot.ipxe"}},
		{"ipxe", ipxe},
		{"ignition-butane", butane},
		{"ignition-raw", raw},
		{"metadata", md},
	} {
		b.Run(fmt.Sprintf("N=%d/%s", n, p.name), func(b *testing.B) {
			rs := make([]*http.Request, len(p.paths))
			w := &discardWriter{h: http.Header{}}
			for i, path := range p.paths {
				rs[i] = httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil)
				if err := serveOnce(s, w, rs[i]); err != nil { // leases, fills the cache
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := serveOnce(s, w, rs[i]); err != nil {
					b.Fatal(err)
				}
				i = (i + 1) % len(rs)
			}
		})
	}
}

func hexMAC(i int) string { return strings.ReplaceAll(catalogen.MAC(i), ":", "-") }

// BenchmarkStorm is a boot storm on the bbolt store: each iteration is a
// new machine of a 10,000-machine catalog through /ipxe, its config (a
// first-time lease, a cold render) and /metadata, from 16 goroutines per
// CPU. Beyond the catalog, machines are unknown and get the pooled
// default group.
func BenchmarkStorm(b *testing.B) {
	const n = 10_000
	s := benchServer(b, n)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			i := int(next.Add(1) - 1)
			mac, cfg := hexMAC(i), catalogen.ConfigPath(i)
			if i >= n {
				mac, cfg = strings.ReplaceAll(catalogen.UnknownMAC(i), ":", "-"), "/ignition"
			}
			for _, path := range []string{"/ipxe?mac=" + mac + "&arch=x86_64", cfg + "?mac=" + mac, "/metadata?mac=" + mac} {
				if err := serveOnce(s, w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil)); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
}
