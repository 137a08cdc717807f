package main

import (
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// startEtcd starts a one-member etcd on loopback ports picked at run time
// and returns its client URL.
func startEtcd(t *testing.T) string {
	t.Helper()
	port := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	var err error
	for range 5 {
		cfg := embed.NewConfig()
		cfg.Dir = t.TempDir()
		peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port())}
		client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port())}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.InitialCluster = cfg.Name + "=" + peer.String()
		cfg.LogLevel = "error"
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.UnsafeNoFsync = true
		var e *embed.Etcd
		if e, err = embed.StartEtcd(cfg); err != nil {
			if strings.Contains(err.Error(), "address already in use") {
				continue
			}
			t.Fatalf("starting etcd: %v", err)
		}
		t.Cleanup(e.Close)
		select {
		case <-e.Server.ReadyNotify():
			return client.String()
		case <-time.After(20 * time.Second):
			t.Fatal("etcd not ready after 20s")
		}
	}
	t.Fatalf("starting etcd: %v", err)
	return ""
}

// TestServeTwoReplicasOnEtcd runs two provisiond processes on one etcd:
// flags and environment variables select the store, a lease given by one
// is served by the other, and an admin API write on one is served by the
// other's boot endpoints.
func TestServeTwoReplicasOnEtcd(t *testing.T) {
	endpoint := startEtcd(t)
	cat := copyDir(t, testCatalog)
	a := start(t, nil, "--store", "etcd", "--etcd-endpoints", endpoint, "--etcd-prefix", "/cmdtest", "--catalog", cat)
	b := start(t, []string{"PROVISIOND_STORE=etcd", "PROVISIOND_ETCD_ENDPOINTS=" + endpoint, "PROVISIOND_ETCD_PREFIX=/cmdtest/"})
	defer a.stop(t)
	defer b.stop(t)

	code, body := get(t, "http://"+a.boot+"/metadata?mac=52:54:00:77:77:77&role=services")
	if code != 200 || !strings.Contains(body, "IP_ADDRESS=10.0.0.104") {
		t.Fatalf("new services machine on A: %d %s", code, body)
	}
	code, body = get(t, "http://"+b.boot+"/metadata?mac=52:54:00:77:77:77&role=services")
	if code != 200 || !strings.Contains(body, "IP_ADDRESS=10.0.0.104") {
		t.Fatalf("the same machine on B: %d %s", code, body)
	}
	code, body = get(t, "http://"+b.boot+"/metadata?mac=52:54:00:77:77:78&role=services")
	if code != 200 || !strings.Contains(body, "IP_ADDRESS=10.0.0.105") {
		t.Fatalf("the next machine on B: %d %s", code, body)
	}

	// An admin API write on A: the worker group now boots the raw profile.
	put(t, a.admin, "/api/v1/groups/worker", `{"id":"worker","profile":"raw","selector":{"role":"worker"}}`)
	start := time.Now()
	for {
		code, body := get(t, "http://"+b.boot+"/ignition?mac=52:54:00:00:00:01&role=worker")
		if code == 200 && strings.Contains(body, "/etc/raw") {
			t.Logf("an admin write on A served by B after %v", time.Since(start))
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("B still serves %d %s 30 s after the write on A", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeRefusesBadStore(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown store", []string{"--store", "redis"}, "--store"},
		{"etcd without endpoints", []string{"--store", "etcd"}, "--etcd-endpoints"},
		{"endpoints with bolt", []string{"--etcd-endpoints", "http://127.0.0.1:2379"}, "--etcd-endpoints"},
		{"endpoint not a URL", []string{"--store", "etcd", "--etcd-endpoints", "127.0.0.1:2379"}, "--etcd-endpoints"},
		{"TLS over http", []string{"--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:2379", "--etcd-ca", "/nonexistent/ca.pem"}, "https"},
		{"missing CA", []string{"--store", "etcd", "--etcd-endpoints", "https://127.0.0.1:2379", "--etcd-ca", "/nonexistent/ca.pem"}, "--etcd-ca"},
		{"cert without key", []string{"--store", "etcd", "--etcd-endpoints", "https://127.0.0.1:2379", "--etcd-cert", "/nonexistent/c.pem"}, "--etcd-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refusesStart(t, nil, tc.want, tc.args...)
		})
	}
}

// An etcd that does not answer refuses the start within the dial
// timeout, naming the flag.
func TestServeEtcdUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	start := time.Now()
	out, err := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--store", "etcd", "--etcd-endpoints", "http://"+addr).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--etcd-endpoints") || !strings.Contains(string(out), "unavailable") {
		t.Fatalf("start against an etcd that is not there: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("refusing took %v", d)
	}
}
