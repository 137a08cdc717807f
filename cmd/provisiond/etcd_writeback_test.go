package main

import (
	"github.com/provisiond/provisiond/catalog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// put sends an admin API PUT of body to path and fails the test on an
// error status.
func put(t *testing.T, admin, path, body string) {
	t.Helper()
	adminDo(t, http.MethodPut, admin, path, body)
}

// adminDo sends an admin API request and fails the test on an error
// status.
func adminDo(t *testing.T, method, admin, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+admin+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
	}
}

// waitFile waits until the file at path satisfies ok (false for a file
// that does not exist), for up to 30 s.
func waitFile(t *testing.T, path string, ok func(data string, exists bool) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := os.ReadFile(path)
		if ok(string(data), err == nil) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after 30 s: %q (%v)", path, data, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEtcdOtherReplicasChangesWrittenIntoCatalog: on a shared etcd store,
// the replica that keeps --catalog writes the changes the other replicas
// take (admin API writes on a replica without --catalog) into its
// directory, in the files their objects came from, so that its reload
// (SIGHUP) and its restart serve them instead of undoing them.
func TestEtcdOtherReplicasChangesWrittenIntoCatalog(t *testing.T) {
	endpoint := startEtcd(t)
	cat := copyDir(t, testCatalog)
	// The worker group lives in a file not named after it: a change
	// written back must land there, not in a second groups/worker.json.
	if err := os.Rename(filepath.Join(cat, "groups", "worker.json"), filepath.Join(cat, "groups", "w.json")); err != nil {
		t.Fatal(err)
	}
	etcdFlags := []string{"--store", "etcd", "--etcd-endpoints", endpoint, "--etcd-prefix", "/writeback/"}
	a := start(t, nil, append(etcdFlags, "--catalog", cat)...)
	b := start(t, nil, etcdFlags...)
	defer b.stop(t)

	// Two changes taken by B: the worker group now boots the raw
	// profile, and a new group.
	put(t, b.admin, "/api/v1/groups/worker", `{"id":"worker","profile":"raw","selector":{"role":"worker"}}`)
	put(t, b.admin, "/api/v1/groups/extra", `{"id":"extra","profile":"worker","selector":{"role":"extra"}}`)

	waitFile(t, filepath.Join(cat, "groups", "w.json"), func(data string, ok bool) bool { return ok && strings.Contains(data, `"profile": "raw"`) })
	waitFile(t, filepath.Join(cat, "groups", "extra.json"), func(data string, ok bool) bool { return ok && strings.Contains(data, `"role": "extra"`) })
	if _, err := os.Stat(filepath.Join(cat, "groups", "worker.json")); err == nil {
		t.Errorf("the worker group was written into a second file, groups/worker.json")
	}
	if logs, ok := a.waitLogs(t, func(logs string) bool {
		return strings.Contains(logs, "other replicas' catalog changes written into --catalog")
	}); !ok {
		t.Errorf("A did not log the write:\n%s", logs)
	}

	served := func(p *proc, what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body := get(t, "http://"+p.boot+"/ignition?mac=52:54:00:00:00:01&role=worker")
			code2, _ := get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:00:00:09&role=extra")
			if code == 200 && strings.Contains(body, "/etc/raw") && code2 == 200 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: worker %d %s, extra %d", what, code, body, code2)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	served(a, "A after B's changes")

	// A change taken by A itself, after A served the catalog read back
	// from the store (which knows no files): into groups/w.json too.
	put(t, a.admin, "/api/v1/groups/worker", `{"id":"worker","name":"changed on A","profile":"raw","selector":{"role":"worker"}}`)
	waitFile(t, filepath.Join(cat, "groups", "w.json"), func(data string, ok bool) bool { return ok && strings.Contains(data, "changed on A") })
	if _, err := os.Stat(filepath.Join(cat, "groups", "worker.json")); err == nil {
		t.Errorf("A's own change was written into a second file, groups/worker.json")
	}

	// A reloads its directory: B's changes stay, on A and on B.
	a.cmd.Process.Signal(syscall.SIGHUP)
	a.waitFor(t, "catalog loaded")
	served(a, "A after its reload")
	served(b, "B after A's reload")

	// A restarts with its directory: they still stay.
	a.stop(t)
	a = start(t, nil, append(etcdFlags, "--catalog", cat)...)
	defer a.stop(t)
	if logs, ok := a.waitLogs(t, func(logs string) bool {
		return strings.Contains(logs, `"msg":"catalog directory loaded`) || strings.Contains(logs, `"msg":"catalog loaded"`)
	}); !ok {
		t.Fatalf("A's directory did not load after its restart:\n%s", logs)
	}
	served(a, "A after its restart")
	served(b, "B after A's restart")
}

// TestWriteBackRefusesALoadOverAnUnfollowedChange: the load's check of
// the stored catalog it replaces refuses it when the store holds a change
// the directory does not (another replica's, not followed yet), naming
// the object; before the directory's first load, and when the store
// holds what the directory holds, it passes.
func TestWriteBackRefusesALoadOverAnUnfollowedChange(t *testing.T) {
	disk, err := catalog.LoadDir(testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	w := &writeBack{dir: "/srv/catalog"}
	if err := w.unchanged(disk); err != nil {
		t.Errorf("before the first load: %v", err)
	}
	w.loaded(disk)
	if err := w.unchanged(disk.Clone()); err != nil {
		t.Errorf("the store holds what the directory holds: %v", err)
	}
	stored := disk.Clone()
	g := *stored.Groups["worker"]
	g.Name = "changed on another replica"
	stored.Groups["worker"] = &g
	err = w.unchanged(stored)
	if err == nil || !strings.Contains(err.Error(), "groups/worker") || !strings.Contains(err.Error(), "--catalog /srv/catalog") || !strings.Contains(err.Error(), "reload again") {
		t.Errorf("err %v, want a refusal naming groups/worker and --catalog", err)
	}
}
