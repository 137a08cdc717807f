package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSIGKILLDuringBootStorm kills provisiond with SIGKILL while machines
// are getting their first leases, restarts it on the same data directory,
// and checks that every address it answered before the kill is still the
// machine's, and that no address is leased twice. Several rounds, each
// with a random kill time (the seed is logged).
func TestSIGKILLDuringBootStorm(t *testing.T) {
	cat := t.TempDir()
	for p, content := range map[string]string{
		"profiles/p.json":  `{"id":"p","boot":{"kernel":"/k"},"generic_id":"ip"}`,
		"generic/ip":       `{{ .ip.address }}`,
		"groups/g.json":    `{"id":"g","profile":"p","pool":"storm"}`,
		"pools/storm.json": `{"name":"storm","cidr":"10.9.0.0/16","start":"10.9.0.10","end":"10.9.255.250","gateway":"10.9.0.1"}`,
	} {
		os.MkdirAll(filepath.Join(cat, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(cat, p), []byte(content), 0o644)
	}
	data := t.TempDir()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	answered := map[string]string{} // mac -> address, over all rounds
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	next := 0
	for round := range 4 {
		p := start(t, nil, "--catalog", cat, "--data-dir", data)
		// Everything answered before is still there.
		for mac, addr := range answered {
			code, body := get(t, "http://"+p.boot+"/generic?mac="+mac)
			if code != 200 || body != addr {
				t.Fatalf("round %d: %s answered %s before the kill, now %d %q", round, mac, addr, code, body)
			}
		}
		var mu sync.Mutex
		var stop atomic.Bool
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					mac := fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", round, w, i>>8&0xff, i&0xff)
					resp, err := client.Get("http://" + p.boot + "/generic?mac=" + mac)
					if err != nil {
						return // killed
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != 200 {
						return
					}
					mu.Lock()
					answered[mac] = string(body)
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(100+rng.IntN(500)) * time.Millisecond)
		p.cmd.Process.Kill()
		<-p.exited
		stop.Store(true)
		wg.Wait()
		next = len(answered)
		t.Logf("round %d: %d machines answered so far", round, next)
	}
	if next == 0 {
		t.Fatal("no machine was answered")
	}
	p := start(t, nil, "--data-dir", data, "--catalog", cat)
	_, body := get(t, "http://"+p.admin+"/api/v1/leases?pool=storm")
	var leases []struct {
		Address string `json:"address"`
		MAC     string `json:"mac"`
	}
	if err := json.Unmarshal([]byte(body), &leases); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	byAddr := map[string]string{}
	for _, l := range leases {
		if other, dup := byAddr[l.Address]; dup {
			t.Errorf("%s leased to %s and %s", l.Address, other, l.MAC)
		}
		byAddr[l.Address] = l.MAC
	}
	for mac, addr := range answered {
		if byAddr[addr] != mac {
			t.Errorf("%s was answered %s, which is leased to %q", mac, addr, byAddr[addr])
		}
	}
	if !strings.HasPrefix(body, "[") || len(leases) < len(answered) {
		t.Errorf("%d leases for %d answered machines", len(leases), len(answered))
	}
}
