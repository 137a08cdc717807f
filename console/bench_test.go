package console

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/catalogen"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// benchMachines is the generated catalog's size; every machine boots once
// before timing, so the timed boots hold their leases.
const benchMachines = 1000

// benchBoot serves a generated catalog from a real bbolt store through
// the real boot server, recording to an inventory recorder through the
// hub, with the console (and its event stream) on a second listener.
func benchBoot(b *testing.B) (*server.Server, *Hub, *Console, *httptest.Server) {
	b.Helper()
	c, err := catalogen.New(benchMachines)
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := inventory.NewRecorder(store, nil, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	hub := NewHub(0, 0)
	srv := server.New(server.Config{Logger: log, Allocator: store, Leases: table, Recorder: hub.Tee(rec)})
	srv.Swap(snap)
	con, err := New(Config{Logger: log, Catalogs: fixedCatalogs{snap}, Inventory: rec, Leases: table, Hub: hub})
	if err != nil {
		b.Fatal(err)
	}
	admin := httptest.NewServer(con)
	b.Cleanup(admin.Close)
	b.Cleanup(con.Close)
	w := &benchWriter{h: http.Header{}}
	for i := range benchMachines {
		if code := bootOnce(srv, w, i); code != http.StatusOK {
			b.Fatalf("machine %d: %d", i, code)
		}
	}
	return srv, hub, con, admin
}

type fixedCatalogs struct{ s *catalog.Snapshot }

func (f fixedCatalogs) Current() *catalog.Snapshot { return f.s }

// benchWriter is the cheapest http.ResponseWriter.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }

func bootOnce(s *server.Server, w *benchWriter, i int) int {
	clear(w.h)
	w.code = http.StatusOK
	mac := strings.ReplaceAll(catalogen.MAC(i%benchMachines), ":", "-")
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/ipxe?mac="+mac+"&arch=x86_64", nil))
	return w.code
}

// stream opens the console's event stream as a browser would, and reads
// it until the benchmark ends.
func stream(b *testing.B, con *Console, admin *httptest.Server) {
	ses := con.sessions.create("bench")
	req, _ := http.NewRequest(http.MethodGet, admin.URL+"/console/events", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: ses.id})
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("event stream: %v %v", err, resp)
	}
	b.Cleanup(func() { resp.Body.Close() })
	go io.Copy(io.Discard, resp.Body)
}

// cpuTime returns the CPU time (user and system) the process used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBootWithLiveViews is /ipxe for machines that hold their
// leases, from 16 goroutines per CPU, with no live view, with real event
// streams read over HTTP, and with subscribers that never read (their
// queues full, every event dropped for them). Publish is on the boot path
// in every case; the numbers show what watching costs the boots.
func BenchmarkBootWithLiveViews(b *testing.B) {
	for _, tc := range []struct {
		name           string
		streams, stuck int
	}{
		{"none", 0, 0},
		{"streams=1", 1, 0},
		{"streams=16", 16, 0},
		{"stuck=64", 0, 64},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv, hub, con, admin := benchBoot(b)
			for range tc.streams {
				stream(b, con, admin)
			}
			for range tc.stuck {
				s, err := hub.Subscribe("", "")
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(s.Close)
			}
			for hub.Subscribers() != tc.streams+tc.stuck {
				time.Sleep(time.Millisecond) // the streams subscribe when their request arrives
			}
			dropped := hub.Dropped()
			cpu := cpuTime()
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := &benchWriter{h: http.Header{}}
				for pb.Next() {
					if code := bootOnce(srv, w, int(next.Add(1))); code != http.StatusOK {
						b.Error(fmt.Sprintf("status %d", code))
						return
					}
				}
			})
			b.StopTimer()
			// The process's CPU time per boot, the stream goroutines'
			// included: unlike ns/op, it does not grow when other
			// processes take the CPUs.
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(hub.Dropped()-dropped)/float64(b.N), "dropped/op")
		})
	}
}
