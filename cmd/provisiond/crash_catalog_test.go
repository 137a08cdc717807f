package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeVersionCatalog writes a catalog of n groups whose metadata all say
// version, into dir.
func writeVersionCatalog(t *testing.T, dir, version string, n int) {
	t.Helper()
	files := map[string]string{
		"profiles/p.json": `{"id":"p","boot":{"kernel":"/k"},"generic_id":"v"}`,
		"generic/v":       `{{ .version }}`,
	}
	for i := range n {
		files[fmt.Sprintf("groups/g%05d.json", i)] = fmt.Sprintf(`{"id":"g%05d","profile":"p","selector":{"rack":"r%d"},"metadata":{"version":%q}}`, i, i, version)
	}
	for p, content := range files {
		writeFile(t, filepath.Join(dir, p), content)
	}
}

// storedCatalog is the catalog a provisiond serving data (without
// --catalog) exports.
type storedCatalog struct {
	Groups []struct {
		ID       string         `json:"id"`
		Metadata map[string]any `json:"metadata"`
	} `json:"groups"`
}

func exportCatalog(t *testing.T, data string) storedCatalog {
	t.Helper()
	p := start(t, nil, "--data-dir", data)
	defer p.stop(t)
	code, body := get(t, "http://"+p.admin+"/api/v1/catalog")
	var c storedCatalog
	if err := json.Unmarshal([]byte(body), &c); code != 200 || err != nil {
		t.Fatalf("GET /api/v1/catalog: %d %v %.200s", code, err, body)
	}
	return c
}

var loadedRE = regexp.MustCompile(`"msg":"catalog loaded".*"duration":([0-9]+)`)

// TestSIGKILLDuringCatalogReload switches --catalog from one large version
// to another, sends SIGHUP, and kills provisiond with SIGKILL at a random
// moment of the reload. Restarted on the same data directory, the stored
// catalog is exactly one version, never a mixture. Several rounds (the
// seed is logged).
func TestSIGKILLDuringCatalogReload(t *testing.T) {
	if testing.Short() {
		t.Skip("several large catalog loads")
	}
	root := t.TempDir()
	sizes := map[string]int{"A": 3000, "B": 4000}
	for v, n := range sizes {
		writeVersionCatalog(t, filepath.Join(root, v), v, n)
	}
	link := filepath.Join(root, "current")
	point := func(v string) {
		tmp := link + ".tmp"
		os.Remove(tmp)
		if err := os.Symlink(v, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil { // atomic switch
			t.Fatal(err)
		}
	}
	data := t.TempDir()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 2))
	cur, seen := "A", map[string]int{}
	for round := range 6 {
		point(cur)
		p := start(t, nil, "--data-dir", data, "--catalog", link)
		// The load at start (before "listening" on a new database, in
		// the background over a stored catalog) times a reload.
		logs, _ := p.waitLogs(t, func(logs string) bool { return loadedRE.MatchString(logs) })
		m := loadedRE.FindStringSubmatch(logs)
		if m == nil {
			t.Fatalf("no catalog loaded line:\n%s", p.logs())
		}
		took, _ := strconv.ParseFloat(m[1], 64) // nanoseconds in JSON logs
		next := map[string]string{"A": "B", "B": "A"}[cur]
		point(next)
		p.cmd.Process.Signal(syscall.SIGHUP)
		// Loading B takes longer than A did; the store write comes last.
		delay := time.Duration((0.5 + 2.5*rng.Float64()) * took)
		time.Sleep(delay)
		p.cmd.Process.Kill()
		<-p.exited

		c := exportCatalog(t, data)
		versions := map[string]int{}
		for _, g := range c.Groups {
			v, _ := g.Metadata["version"].(string)
			versions[v]++
		}
		if len(versions) != 1 {
			t.Fatalf("round %d (killed %s into a reload of %s): the stored catalog mixes versions %v", round, delay, time.Duration(took), versions)
		}
		for v, n := range versions {
			if n != sizes[v] {
				t.Fatalf("round %d: %d groups of version %s, want %d", round, n, v, sizes[v])
			}
			if v != cur && v != next {
				t.Fatalf("round %d: version %s stored", round, v)
			}
			t.Logf("round %d: killed %s into a reload of %s: version %s (was %s)", round, delay, time.Duration(took), v, cur)
			seen[v]++
			cur = v
		}
	}
	t.Logf("outcomes: %v", seen)
}

// TestSIGKILLDuringAPIWrites streams admin API writes (single groups with
// PUT, batches of ten with POST /api/v1/catalog) and kills provisiond with
// SIGKILL at a random moment. Restarted, every acknowledged write is
// there, at most the one write in flight is there besides, and no batch
// is there in part. Several rounds (the seed is logged).
func TestSIGKILLDuringAPIWrites(t *testing.T) {
	cat := t.TempDir()
	writeVersionCatalog(t, cat, "base", 1)
	data := t.TempDir()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 3))
	acked := map[string]bool{} // group ids acknowledged, over all rounds
	client := &http.Client{Timeout: 5 * time.Second}
	for round := range 4 {
		args := []string{"--data-dir", data}
		if round == 0 {
			args = append(args, "--catalog", cat)
		}
		p := start(t, nil, args...)
		api := "http://" + p.admin + "/api/v1"
		done := make(chan []string) // the ids of the write in flight at the kill
		go func() {
			for i := 0; ; i++ {
				var req *http.Request
				var ids []string
				if i%5 == 0 {
					var groups []string
					for j := range 10 {
						id := fmt.Sprintf("b%d-%d-%d", round, i, j)
						ids = append(ids, id)
						groups = append(groups, fmt.Sprintf(`{"id":%q,"profile":"p","selector":{"batch":%q},"metadata":{"version":"x"}}`, id, id))
					}
					req, _ = http.NewRequest(http.MethodPost, api+"/catalog", strings.NewReader(`{"groups":[`+strings.Join(groups, ",")+`]}`))
				} else {
					id := fmt.Sprintf("w%d-%d", round, i)
					ids = []string{id}
					body := fmt.Sprintf(`{"id":%q,"profile":"p","selector":{"w":%q},"metadata":{"version":"x"}}`, id, id)
					req, _ = http.NewRequest(http.MethodPut, api+"/groups/"+id, bytes.NewReader([]byte(body)))
				}
				resp, err := client.Do(req)
				if err != nil {
					done <- ids
					return
				}
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					t.Errorf("write %v: %d", ids, resp.StatusCode)
					done <- ids
					return
				}
				for _, id := range ids {
					acked[id] = true
				}
			}
		}()
		time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond)
		p.cmd.Process.Kill()
		<-p.exited
		inflight := <-done

		c := exportCatalog(t, data)
		stored := map[string]bool{}
		for _, g := range c.Groups {
			stored[g.ID] = true
		}
		for id := range acked {
			if !stored[id] {
				t.Fatalf("round %d: acknowledged group %s lost", round, id)
			}
		}
		extra := 0
		for id := range stored {
			if !acked[id] && id != "g00000" {
				extra++
			}
		}
		got := 0
		for _, id := range inflight {
			if stored[id] {
				got++
				acked[id] = true
			}
		}
		if extra != got || (got != 0 && got != len(inflight)) {
			t.Fatalf("round %d: %d unacknowledged groups stored; of the write in flight %v, %d", round, extra, inflight, got)
		}
		t.Logf("round %d: %d groups acknowledged so far; the write in flight (%d groups) landed: %v", round, len(acked), len(inflight), got > 0)
	}
}
