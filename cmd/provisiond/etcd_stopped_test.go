package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/provisiond/provisiond/catalog"
)

// A replica that keeps --catalog on a shared store (etcd) and was stopped
// while other replicas took writes must not load its directory over
// those writes when it starts again: they were acknowledged. These tests
// run real `serve` processes on an embedded etcd.

// stoppedReplica starts A (--catalog) and B (no directory) on one etcd,
// waits until A's directory records the revision it holds, stops A, and
// returns B, A's directory, the flags, and the etcd endpoint.
func stoppedReplica(t *testing.T) (b *proc, cat string, flags []string, endpoint string) {
	t.Helper()
	endpoint = startEtcd(t)
	cat = copyDir(t, testCatalog)
	flags = []string{"--store", "etcd", "--etcd-endpoints", endpoint, "--etcd-prefix", "/stopped/"}
	a := start(t, nil, append(flags, "--catalog", cat)...)
	waitFile(t, filepath.Join(cat, catalog.SyncMarkFile), func(data string, ok bool) bool { return ok && strings.Contains(data, `"revision"`) })
	b = start(t, nil, flags...)
	t.Cleanup(func() { b.stop(t) })
	a.stop(t)
	return b, cat, flags, endpoint
}

// servedWithin waits up to 30 s for ok to hold of p's answers.
func servedWithin(t *testing.T, p *proc, what string, ok func(get func(path string) (int, string)) bool) {
	t.Helper()
	get := func(path string) (int, string) { return get(t, "http://"+p.boot+path) }
	deadline := time.Now().Add(30 * time.Second)
	for !ok(get) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not served after 30 s\n%s", what, p.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEtcdStoppedReplicaKeepsOthersChanges: while A is stopped, B updates
// a group, creates one and deletes one, and the operator adds a group to
// A's directory. A's restart with its directory merges B's changes into
// its files and keeps the operator's: both replicas serve all four.
func TestEtcdStoppedReplicaKeepsOthersChanges(t *testing.T) {
	b, cat, flags, _ := stoppedReplica(t)
	mark, ok, err := catalog.ReadSyncMark(cat)
	if err != nil || !ok {
		t.Fatalf("mark: %v %v", ok, err)
	}

	put(t, b.admin, "/api/v1/groups/worker", `{"id":"worker","profile":"raw","selector":{"role":"worker"}}`)
	put(t, b.admin, "/api/v1/groups/extra", `{"id":"extra","profile":"worker","selector":{"role":"extra"}}`)
	adminDo(t, http.MethodDelete, b.admin, "/api/v1/groups/raw-node", "")
	if err := os.WriteFile(filepath.Join(cat, "groups", "local.json"), []byte(`{"id":"local","profile":"worker","selector":{"role":"local"}}`), 0o644); err != nil {
		t.Fatal(err)
	}

	a := start(t, nil, append(flags, "--catalog", cat)...)
	defer a.stop(t)
	if logs, ok := a.waitLogs(t, func(logs string) bool {
		return strings.Contains(logs, "changes other replicas took while this replica was stopped") && strings.Contains(logs, `"msg":"catalog directory loaded`)
	}); !ok {
		t.Fatalf("A did not merge B's changes and load:\n%s", logs)
	}
	for _, p := range []*proc{a, b} {
		servedWithin(t, p, "B's and the operator's changes", func(get func(string) (int, string)) bool {
			code, body := get("/ignition?mac=52:54:00:00:00:01&role=worker")
			extra, _ := get("/ipxe?mac=52:54:00:00:00:09&role=extra")
			local, _ := get("/ipxe?mac=52:54:00:00:00:0a&role=local")
			rawNode, rawBody := get("/ignition?mac=52:54:00:aa:bb:cc")
			return code == 200 && strings.Contains(body, "/etc/raw") && extra == 200 && local == 200 &&
				!(rawNode == 200 && strings.Contains(rawBody, "/etc/raw"))
		})
	}
	data, err := os.ReadFile(filepath.Join(cat, "groups", "worker.json"))
	if err != nil || !strings.Contains(string(data), `"profile": "raw"`) {
		t.Errorf("groups/worker.json: %q %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(cat, "groups", "extra.json")); err != nil {
		t.Errorf("groups/extra.json: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cat, "groups", "raw-node.json")); err == nil {
		t.Errorf("groups/raw-node.json, deleted on B, is still in A's directory")
	}
	if _, err := os.Stat(filepath.Join(cat, "groups", "local.json")); err != nil {
		t.Errorf("the operator's groups/local.json: %v", err)
	}
	var after catalog.SyncMark
	waitFile(t, filepath.Join(cat, catalog.SyncMarkFile), func(data string, ok bool) bool {
		return ok && json.Unmarshal([]byte(data), &after) == nil && after.Revision > mark.Revision
	})
	if after.Origin != mark.Origin {
		t.Errorf("mark origin %q, then %q", mark.Origin, after.Origin)
	}
}

// serveExits runs serve with args and waits up to 60 s for it to exit,
// returning its exit code and log.
func serveExits(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"serve", "--log-format", "json", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...)...)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("serve did not exit in 60 s:\n%s", logs.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return code, logs.String()
}

// TestEtcdStoppedReplicaConflictRefusesStart: B and the operator both
// changed the worker group while A was stopped. A's start is refused,
// naming the group and the mark file; B's change stays served. Deleting
// the mark loads the directory over the store, as the refusal says.
func TestEtcdStoppedReplicaConflictRefusesStart(t *testing.T) {
	b, cat, flags, _ := stoppedReplica(t)
	put(t, b.admin, "/api/v1/groups/worker", `{"id":"worker","profile":"raw","selector":{"role":"worker"}}`)
	mine := `{"id": "worker", "name": "edited on A's disk", "profile": "worker", "selector": {"role": "worker"}}`
	if err := os.WriteFile(filepath.Join(cat, "groups", "worker.json"), []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}

	code, logs := serveExits(t, append(flags, "--catalog", cat)...)
	if code == 0 || !strings.Contains(logs, "groups/worker") || !strings.Contains(logs, catalog.SyncMarkFile) || !strings.Contains(logs, "files changed them too") {
		t.Fatalf("exit %d, want a refusal naming groups/worker and %s:\n%s", code, catalog.SyncMarkFile, logs)
	}
	if data, _ := os.ReadFile(filepath.Join(cat, "groups", "worker.json")); string(data) != mine {
		t.Errorf("the operator's file changed: %q", data)
	}
	code2, body := get(t, "http://"+b.boot+"/ignition?mac=52:54:00:00:00:01&role=worker")
	if code2 != 200 || !strings.Contains(body, "/etc/raw") {
		t.Errorf("B's change was undone: %d %s", code2, body)
	}

	if err := os.Remove(filepath.Join(cat, catalog.SyncMarkFile)); err != nil {
		t.Fatal(err)
	}
	a := start(t, nil, append(flags, "--catalog", cat)...)
	defer a.stop(t)
	servedWithin(t, b, "the directory loaded over the store", func(get func(string) (int, string)) bool {
		code, body := get("/ignition?mac=52:54:00:00:00:01&role=worker")
		return code == 200 && !strings.Contains(body, "/etc/raw")
	})
}

// TestEtcdStoppedReplicaCompactedHistoryRefusesStart: when etcd no longer
// has the revision A's directory holds (its history compacted), A cannot
// tell B's changes from its directory's edits: its start is refused,
// naming the mark file to delete; nothing is undone.
func TestEtcdStoppedReplicaCompactedHistoryRefusesStart(t *testing.T) {
	b, cat, flags, endpoint := stoppedReplica(t)
	put(t, b.admin, "/api/v1/groups/worker", `{"id":"worker","profile":"raw","selector":{"role":"worker"}}`)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/stopped/catalog")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}

	code, logs := serveExits(t, append(flags, "--catalog", cat)...)
	if code == 0 || !strings.Contains(logs, "cannot be read") || !strings.Contains(logs, catalog.SyncMarkFile) {
		t.Fatalf("exit %d, want a refusal naming %s:\n%s", code, catalog.SyncMarkFile, logs)
	}
	code2, body := get(t, "http://"+b.boot+"/ignition?mac=52:54:00:00:00:01&role=worker")
	if code2 != 200 || !strings.Contains(body, "/etc/raw") {
		t.Errorf("B's change was undone: %d %s", code2, body)
	}
}
