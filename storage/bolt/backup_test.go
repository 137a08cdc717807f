package bolt

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/ipam"
)

// restored writes a backup into a fresh data dir, opens it as provisiond
// would, and returns its leases and catalog.
func restored(t *testing.T, backup []byte) ([]ipam.Lease, *catalog.Catalog) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), backup, 0o600); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, dir)
	defer s.Close()
	leases := checkStore(t, s)
	c, err := s.LoadCatalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return leases, c
}

// A backup taken while machines keep getting leases holds every lease
// acknowledged before it started and only leases acknowledged by its end.
func TestWriteBackupWhileAllocating(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	defer s.Close()
	p := damagePool(t)
	c := catalog.New()
	c.Pools[p.Name] = p
	if err := s.ReplaceCatalog(t.Context(), c, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, err := s.Allocate(t.Context(), p, crashMAC(i)); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := s.Leases(t.Context())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := 1000 + w*1000; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Allocate(t.Context(), p, crashMAC(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var buf bytes.Buffer
	n, err := s.WriteBackup(&buf)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteBackup said %d bytes, wrote %d", n, buf.Len())
	}
	after, _ := s.Leases(t.Context())
	got, gotCat := restored(t, buf.Bytes())
	if !subset(before, got) {
		t.Errorf("backup lacks leases acknowledged before it: %d before, %d in it", len(before), len(got))
	}
	if !subset(got, after) {
		t.Error("backup holds leases the store never had")
	}
	if gotCat.Pools[p.Name] == nil {
		t.Error("backup lacks the catalog's pool")
	}
	t.Logf("%d leases before, %d in the backup, %d after", len(before), len(got), len(after))
}

func subset(a, b []ipam.Lease) bool {
	in := map[ipam.Lease]bool{}
	for _, l := range b {
		in[l] = true
	}
	for _, l := range a {
		if !in[l] {
			return false
		}
	}
	return true
}

func TestBackupHandler(t *testing.T) {
	dir, leases := leasedDir(t, 150)
	s := mustOpen(t, dir)
	defer s.Close()
	srv := httptest.NewServer(s.BackupHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d, %v", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="provisiond-`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
	}
	got, _ := restored(t, body)
	if !sameLeases(got, leases) {
		t.Errorf("restored backup: %d leases, want the %d stored", len(got), len(leases))
	}
	resp, err = http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
	s.Close()
	resp, err = http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET on a closed store: %d, want 503", resp.StatusCode)
	}
}

func TestBackupOffline(t *testing.T) {
	dir, leases := leasedDir(t, 150)
	var buf bytes.Buffer
	if _, err := Backup(dir, &buf); err != nil {
		t.Fatal(err)
	}
	if got, _ := restored(t, buf.Bytes()); !sameLeases(got, leases) {
		t.Errorf("restored offline backup: %d leases, want %d", len(got), len(leases))
	}
	t.Run("running server", func(t *testing.T) {
		s := mustOpen(t, dir)
		defer s.Close()
		_, err := Backup(dir, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "locked") || !errors.Is(err, ErrLocked) {
			t.Errorf("Backup of a dir in use: %v, want \"locked\" (ErrLocked)", err)
		}
	})
	t.Run("damaged", func(t *testing.T) {
		bad := copyDir(t, dir)
		editDB(t, bad, func(tx *bbolt.Tx) error {
			return tx.Bucket(bLeases).Bucket([]byte("rack1")).Bucket(bMAC).Put([]byte(leases[0].MAC), addrKey(leases[1].Address))
		})
		if _, err := Backup(bad, io.Discard); err == nil || !strings.Contains(err.Error(), leases[0].MAC) {
			t.Errorf("Backup of a damaged file: %v, want the disagreement named", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := Backup(t.TempDir(), io.Discard); err == nil || !strings.Contains(err.Error(), FileName) {
			t.Errorf("Backup of an empty dir: %v", err)
		}
	})
}

func TestCheck(t *testing.T) {
	dir, leases := leasedDir(t, 300)
	rep, err := Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 0 || rep.Leases != 300 || rep.Pools != 1 {
		t.Errorf("sound store: %+v", rep)
	}
	t.Run("swapped", func(t *testing.T) {
		bad := copyDir(t, dir)
		editDB(t, bad, func(tx *bbolt.Tx) error {
			macB := tx.Bucket(bLeases).Bucket([]byte("rack1")).Bucket(bMAC)
			return errors.Join(macB.Put([]byte(leases[1].MAC), addrKey(leases[2].Address)), macB.Put([]byte(leases[2].MAC), addrKey(leases[1].Address)))
		})
		rep, err := Check(bad)
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(rep.Problems, "\n")
		for _, w := range []string{leases[1].MAC, leases[2].MAC, leases[1].Address.String(), leases[2].Address.String()} {
			if !strings.Contains(all, w) {
				t.Errorf("problems %q lack %s", all, w)
			}
		}
	})
	t.Run("garbled", func(t *testing.T) {
		src := filepath.Join(dir, FileName)
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		// Every used page in turn, with random bytes from three seeds:
		// Check reports, never crashes (bbolt's own check runs in a
		// goroutine no recover reaches, so it must never meet a wild
		// page reference).
		found, n := 0, 0
		for seed := range uint64(3) {
			rng := rand.New(rand.NewPCG(seed, 7))
			for p := 0; int64(p*4096) < usedBytes(t, dir); p++ {
				n++
				bad := t.TempDir()
				d := bytes.Clone(data)
				for i := p * 4096; i < (p+1)*4096; i++ {
					d[i] = byte(rng.UintN(256))
				}
				if err := os.WriteFile(filepath.Join(bad, FileName), d, 0o600); err != nil {
					t.Fatal(err)
				}
				rep, err := Check(bad)
				if err != nil {
					t.Fatalf("page %d: %v", p, err)
				}
				if len(rep.Problems) > 0 {
					found++
				}
			}
		}
		t.Logf("%d garbled copies, %d reported damaged", n, found)
		if found == 0 {
			t.Error("no garbled page found by Check")
		}
	})
	t.Run("empty", func(t *testing.T) {
		bad := t.TempDir()
		os.WriteFile(filepath.Join(bad, FileName), nil, 0o600)
		rep, err := Check(bad)
		if err != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "empty") {
			t.Errorf("empty file: %+v, %v", rep, err)
		}
	})
}
