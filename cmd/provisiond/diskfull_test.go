package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A full disk under a running server: a new machine is answered 503 and
// the log names the store file and the cause; machines with leases keep
// being served; when space returns, new machines get leases again.
func TestServeDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a small tmpfs to fill needs root (run the tests as root to include the full-disk test)")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("skipped: mount -t tmpfs failed (%v: %s): this environment does not allow mounts", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	data := filepath.Join(mnt, "data")
	p := start(t, nil, "--data-dir", data, "--catalog", guardCatalog(t))
	mac := func(i int) string { return fmt.Sprintf("52:54:00:08:%02x:%02x", i>>8, i&0xff) }
	for i := range 5 {
		if code, body := get(t, "http://"+p.boot+"/ipxe?role=services&mac="+mac(i)); code != 200 {
			t.Fatalf("machine %d before the disk filled: %d %s", i, code, body)
		}
	}
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	// New machines until the store has used the free pages it had.
	code, body, i := 200, "", 100
	for ; i < 2000 && code == 200; i++ {
		code, body = get(t, "http://"+p.boot+"/ipxe?role=services&mac="+mac(i))
	}
	if code != 503 {
		t.Fatalf("new machine on a full disk: %d %s", code, body)
	}
	if want := "store unavailable (bbolt file " + filepath.Join(data, "provisiond.db") + "): cannot write now, try again; the server log has the cause\n"; body != want {
		t.Errorf("full disk answer %q, want %q", body, want)
	}
	t.Logf("full after %d new machines: %d %s", i-101, code, strings.TrimSpace(body))
	if logs, ok := p.waitLogs(t, func(logs string) bool {
		return strings.Contains(logs, filepath.Join(data, "provisiond.db")+" cannot be written") && strings.Contains(logs, "no space left on device")
	}); !ok {
		t.Errorf("the log does not name the store file and the cause:\n%s", logs)
	}
	for j := range 5 {
		if code, body := get(t, "http://"+p.boot+"/ipxe?role=services&mac="+mac(j)); code != 200 {
			t.Errorf("leased machine %d on a full disk: %d %s", j, code, body)
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, "http://"+p.boot+"/ipxe?role=services&mac="+mac(i)); code != 200 {
		t.Errorf("new machine after space returned: %d %s", code, body)
	}
	p.stop(t)
	// The store is sound for the next start.
	if code, out, errs := runDB(t, "check", "--data-dir", data); code != 0 {
		t.Errorf("db check after the full disk: %d %s %s", code, out, errs)
	}
}
