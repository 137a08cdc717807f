package tftp

import (
	"bytes"
	"crypto/rand"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pin/tftp/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/provisiond/provisiond/inventory"
)

type recorder struct {
	mu     sync.Mutex
	events []inventory.Event
	macs   []string
}

func (r *recorder) Record(mac, uuid string, e inventory.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	r.macs = append(r.macs, mac)
}

// macs is a fake DHCP server: it knows loopback as one machine.
type macs struct{}

func (macs) MACFor(ip netip.Addr) (string, bool) {
	return "52:54:00:00:00:69", ip.IsLoopback()
}

func testServer(t *testing.T) (*Server, string, map[string][]byte) {
	t.Helper()
	root := t.TempDir()
	files := map[string][]byte{
		"undionly.kpxe":    random(t, 74213),
		"ipxe.efi":         random(t, 200_000),
		"exact.bin":        random(t, 512*8), // ends with an empty DATA block
		"x86_64/snp.efi":   random(t, 1000),
		"empty":            {},
		".hidden/ipxe.efi": random(t, 10),
	}
	for name, b := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: "127.0.0.1:0", Root: root, Recorder: &recorder{}, MACs: macs{},
		Metrics: NewMetrics(prometheus.NewRegistry())}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, s.LocalAddr().String(), files
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// get fetches name with the pin/tftp client; blksize 0 means the
// protocol's default (512, no option).
func get(t *testing.T, addr, name string, blksize int, tsize bool) ([]byte, int64, error) {
	t.Helper()
	c, err := tftp.NewClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	if blksize > 0 {
		c.SetBlockSize(blksize)
	}
	c.RequestTSize(tsize)
	wt, err := c.Receive(name, "octet")
	if err != nil {
		return nil, 0, err
	}
	size := int64(-1)
	if n, ok := wt.(tftp.IncomingTransfer).Size(); ok {
		size = n
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), size, nil
}

func TestTransfers(t *testing.T) {
	s, addr, files := testServer(t)
	tests := []struct {
		name, file string
		blksize    int
		tsize      bool
	}{
		{"default block size", "undionly.kpxe", 0, false},
		{"blksize 1468 and tsize", "ipxe.efi", 1468, true},
		{"blksize 8 (smallest)", "x86_64/snp.efi", 8, false},
		{"blksize 65464 (largest)", "ipxe.efi", 65464, true},
		{"a multiple of the block size", "exact.bin", 512, false},
		{"empty file", "empty", 0, true},
		{"leading slash, as GRUB sends", "/undionly.kpxe", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, size, err := get(t, addr, tc.file, tc.blksize, tc.tsize)
			if err != nil {
				t.Fatal(err)
			}
			want := files[strings.TrimPrefix(tc.file, "/")]
			if !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want %d (content differs)", len(got), len(want))
			}
			if tc.tsize && size != int64(len(want)) {
				t.Errorf("tsize %d, want %d", size, len(want))
			}
		})
	}
	// The server counts a transfer when the client's last ACK arrives,
	// which may be after the client has returned.
	eventually(t, func() bool {
		return testutil.ToFloat64(s.Metrics.transfers.WithLabelValues("ok")) == float64(len(tests))
	})
	if got := testutil.ToFloat64(s.Metrics.transfers.WithLabelValues("ok")); got != float64(len(tests)) {
		t.Errorf("transfers_total{result=ok} = %v, want %d", got, len(tests))
	}
	rec := s.Recorder.(*recorder)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.events) != len(tests) || rec.events[0].Endpoint != "tftp:undionly.kpxe" || rec.events[0].Status != 200 || rec.macs[0] != "52:54:00:00:00:69" {
		t.Errorf("inventory: %v %v", rec.macs, rec.events)
	}
}

func TestRefusals(t *testing.T) {
	s, addr, _ := testServer(t)
	tests := []struct {
		name, file, result string
		status             int
	}{
		{"missing file", "nope.efi", "not_found", 404},
		{"absolute path outside the root", "/etc/passwd", "not_found", 404},
		{"dot-dot", "../secret", "refused", 400},
		{"dot-dot inside", "x86_64/../ipxe.efi", "refused", 400},
		{"symlink out of the root", "escape", "refused", 403},
		{"hidden directory", ".hidden/ipxe.efi", "refused", 400},
		{"directory", "x86_64", "refused", 403},
		{"backslash", `x86_64\snp.efi`, "refused", 400},
		{"empty name", "/", "refused", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(s.Metrics.transfers.WithLabelValues(tc.result))
			got, _, err := get(t, addr, tc.file, 0, false)
			if err == nil {
				t.Fatalf("served %d bytes", len(got))
			}
			if after := testutil.ToFloat64(s.Metrics.transfers.WithLabelValues(tc.result)); after != before+1 {
				t.Errorf("transfers_total{result=%s} went %v -> %v", tc.result, before, after)
			}
			rec := s.Recorder.(*recorder)
			rec.mu.Lock()
			last := rec.events[len(rec.events)-1]
			rec.mu.Unlock()
			if last.Status != tc.status || !strings.HasPrefix(last.Endpoint, "tftp:") {
				t.Errorf("inventory event %+v, want status %d", last, tc.status)
			}
		})
	}
	t.Run("write request", func(t *testing.T) {
		c, _ := tftp.NewClient(addr)
		rf, err := c.Send("upload.bin", "octet")
		if err == nil {
			_, err = rf.ReadFrom(bytes.NewReader([]byte("x")))
		}
		if err == nil {
			t.Fatal("write accepted")
		}
		if _, err := os.Stat(filepath.Join(s.Root, "upload.bin")); err == nil {
			t.Fatal("file written")
		}
	})
}

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"ipxe.efi": "ipxe.efi", "/ipxe.efi": "ipxe.efi", "a/b.efi": "a/b.efi",
		"": "", "/": "", "//ipxe.efi": "", "../x": "", "a/./b": "", "a//b": "", "a/": "",
		".x": "", "a/.x": "", "a\\b": "", "a\x00b": "", strings.Repeat("a", 256): "",
	} {
		got, err := fileName(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("fileName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzFileName(f *testing.F) {
	for _, s := range []string{"ipxe.efi", "/undionly.kpxe", "../etc/passwd", "a/.b", "a\\b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := fileName(s)
		if err != nil {
			return
		}
		if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || !fs.ValidPath(name) {
			t.Fatalf("fileName(%q) = %q", s, name)
		}
		for elem := range strings.SplitSeq(name, "/") {
			if strings.HasPrefix(elem, ".") {
				t.Fatalf("fileName(%q) = %q: element %q", s, name, elem)
			}
		}
	})
}

func TestStartRefuses(t *testing.T) {
	if err := (&Server{Addr: "127.0.0.1:0"}).Start(); err == nil {
		t.Error("started without a root")
	}
	if err := (&Server{Addr: "127.0.0.1:0", Root: filepath.Join(t.TempDir(), "missing")}).Start(); err == nil {
		t.Error("started with a missing root")
	}
}

func TestMaxTransfers(t *testing.T) {
	s, addr, files := testServer(t)
	for len(s.sem) < cap(s.sem) {
		s.sem <- struct{}{}
	}
	if _, _, err := get(t, addr, "undionly.kpxe", 0, false); err == nil {
		t.Fatal("served beyond MaxTransfers")
	}
	if got := testutil.ToFloat64(s.Metrics.transfers.WithLabelValues("busy")); got != 1 {
		t.Errorf("transfers_total{result=busy} = %v", got)
	}
	<-s.sem
	got, _, err := get(t, addr, "undionly.kpxe", 0, false)
	if err != nil || !bytes.Equal(got, files["undionly.kpxe"]) {
		t.Fatalf("after a slot freed: %v", err)
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}
