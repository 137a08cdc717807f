// Package examples_test serves every example catalog through a real server
// and checks each role's answers against golden files, and that every
// Ignition answer is valid Ignition and every cloud-config valid YAML.
package examples_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ignition "github.com/coreos/ignition/v2/config"
	"gopkg.in/yaml.v3"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/internal/golden"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/server"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// role is one kind of machine of a layout and the query iPXE would send.
type role struct {
	name  string
	query string
	// want are strings the Ignition config (its units, or its files'
	// decoded contents) must carry.
	want []string
}

var layouts = []struct {
	dir   string
	roles []role
	// from and edit, when set, make the catalog a copy of examples/from
	// changed by edit (dir then names only the golden files).
	from string
	edit func(t *testing.T, dir string)
}{
	{"laptop", []role{{"laptop", "mac=52-54-00-00-00-01", nil}}, "", nil},
	{"small-cluster", []role{
		{"node1", "mac=52-54-00-89-d8-10", []string{"node1=http://10.0.0.101:2380,node2=http://10.0.0.102:2380,node3=http://10.0.0.103:2380"}},
		{"node3", "mac=52-54-00-89-d8-12", nil},
	}, "", nil},
	{"dev-cluster", []role{
		{"etcd", "mac=52-54-00-89-d8-10", nil},
		{"worker", "mac=52-54-00-00-00-21", nil},
	}, "", nil},
	{"production", []role{
		{"services-node1", "mac=52-54-00-89-d8-10", []string{
			"Address=10.0.0.101/24", "Gateway=10.0.0.1", "DNS=10.0.0.1", "MACAddress=52:54:00:89:d8:10",
			"--initial-cluster=node1=http://10.0.0.101:2380,node2=http://10.0.0.102:2380,node3=http://10.0.0.103:2380",
			"--initial-advertise-peer-urls=http://10.0.0.101:2380",
		}},
		{"services-node2", "mac=52-54-00-89-d8-11", []string{
			"Address=10.0.0.102/24",
			"--initial-cluster=node1=http://10.0.0.101:2380,node2=http://10.0.0.102:2380,node3=http://10.0.0.103:2380",
		}},
		{"worker", "mac=52-54-00-00-00-31&role=worker&cabinet=one", []string{"10.0.0.101:2379,10.0.0.102:2379,10.0.0.103:2379"}},
		{"worker-cabinet-two", "mac=52-54-00-00-00-32&role=worker&cabinet=two", []string{"10.0.0.101:2379,10.0.0.102:2379,10.0.0.103:2379", "spinning"}},
	}, "", nil},
	{"swarm", []role{
		{"manager1", "mac=52-54-00-89-d8-10", []string{"10.0.0.101", "10.0.0.102", "10.0.0.103"}},
		{"manager2", "mac=52-54-00-89-d8-11", nil},
		{"worker", "mac=52-54-00-00-00-41&role=worker", nil},
	}, "", nil},
	// The swarm with its optional Vault turned on in the group metadata.
	{"swarm-vault", []role{
		{"manager1", "mac=52-54-00-89-d8-10", []string{
			"== /etc/vault/vault.hcl", `storage "etcd" {`, `etcd_api   = "v3"`, `api_addr     = "http://10.0.0.101:8200"`,
			"hashicorp/vault:1.15.6 server", "Description=Vault server, its storage in the managers' etcd",
		}},
		{"manager2", "mac=52-54-00-89-d8-11", []string{`cluster_addr = "http://10.0.0.102:8201"`}},
		{"worker", "mac=52-54-00-00-00-41&role=worker", nil},
	}, "swarm", func(t *testing.T, dir string) {
		replaceIn(t, filepath.Join(dir, "groups", "manager.json"), `"update_group": "stable"`, `"update_group": "stable",
    "vault": true`)
	}},
}

func serve(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	store, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c, err := catalog.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	table := ipam.NewTable(nil)
	snap, warnings, err := storage.Apply(context.Background(), store, table, c, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Errorf("%s: warning: %s", dir, w)
	}
	srv := server.New(server.Config{Allocator: store, Leases: table, Recorder: inventory.NewRecorder(store, nil, nil)})
	srv.Swap(snap)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("refusing to fetch %s: tests only talk to loopback", url)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestExamples(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.dir, func(t *testing.T) {
			dir := l.dir
			if l.edit != nil {
				dir = copyCatalog(t, l.from)
				l.edit(t, dir)
			}
			hs := serve(t, dir)
			host := strings.TrimPrefix(hs.URL, "http://")
			for _, r := range l.roles {
				t.Run(r.name, func(t *testing.T) {
					code, script := fetch(t, hs.URL+"/ipxe?"+r.query)
					if code != 200 {
						t.Fatalf("/ipxe: %d %s", code, script)
					}
					golden.Assert(t, "testdata/golden/"+l.dir+"/"+r.name+".ipxe", []byte(strings.ReplaceAll(script, host, "SERVER")))
					served := 0
					if u := bootArg(script, "ignition.config.url="); u != "" {
						code, body := fetch(t, ipxeExpand(u, r.query))
						if code != 200 {
							t.Fatalf("/ignition: %d %s", code, body)
						}
						if _, rep, err := ignition.Parse([]byte(body)); err != nil || len(rep.Entries) > 0 {
							t.Errorf("/ignition is not clean Ignition: %v %s", err, rep)
						}
						golden.Assert(t, "testdata/golden/"+l.dir+"/"+r.name+".ign", []byte(strings.ReplaceAll(body, host, "SERVER")))
						files := ignitionFiles(t, body)
						for _, want := range r.want {
							if !strings.Contains(files+body, want) {
								t.Errorf("Ignition lacks %q; its files:\n%s", want, files)
							}
						}
						served++
					}
					if u := bootArg(script, "cloud-config-url="); u != "" {
						code, body := fetch(t, ipxeExpand(u, r.query))
						if code != 200 {
							t.Fatalf("/cloud: %d %s", code, body)
						}
						var v map[string]any
						if !strings.HasPrefix(body, "#cloud-config\n") || yaml.Unmarshal([]byte(body), &v) != nil || len(v) == 0 {
							t.Errorf("/cloud is not a YAML cloud-config:\n%s", body)
						}
						golden.Assert(t, "testdata/golden/"+l.dir+"/"+r.name+".cloud", []byte(strings.ReplaceAll(body, host, "SERVER")))
						served++
					}
					if served == 0 {
						t.Fatalf("the boot script points at no config:\n%s", script)
					}
				})
			}
		})
	}
}

// bootArg returns the value of the kernel argument starting with prefix in
// an iPXE script.
func bootArg(script, prefix string) string {
	for _, f := range strings.Fields(script) {
		if strings.HasPrefix(f, prefix) {
			return strings.TrimPrefix(f, prefix)
		}
	}
	return ""
}

// ipxeExpand fills in the iPXE variables of a config URL as iPXE would for
// the machine whose /ipxe query was query.
func ipxeExpand(u, query string) string {
	q, _ := url.ParseQuery(query)
	return strings.NewReplacer("${mac:hexhyp}", q.Get("mac"), "${uuid}", "", "${mac}", strings.ReplaceAll(q.Get("mac"), "-", ":")).Replace(u)
}

// ignitionFiles decodes every storage file's contents of an Ignition
// config (data URLs, gzip) and returns them joined, with unit dropins.
func ignitionFiles(t *testing.T, raw string) string {
	t.Helper()
	var cfg struct {
		Storage struct {
			Files []struct {
				Path     string
				Contents struct {
					Source      string
					Compression string
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range cfg.Storage.Files {
		src := f.Contents.Source
		meta, data, ok := strings.Cut(strings.TrimPrefix(src, "data:"), ",")
		if !ok {
			continue
		}
		var content []byte
		if strings.HasSuffix(meta, ";base64") {
			d, err := base64.StdEncoding.DecodeString(data)
			if err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			content = d
		} else {
			d, err := url.PathUnescape(data)
			if err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			content = []byte(d)
		}
		if f.Contents.Compression == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(content))
			if err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			if content, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
		}
		fmt.Fprintf(&b, "== %s\n%s\n", f.Path, content)
	}
	return b.String()
}

// copyCatalog copies the example catalog name to a temporary directory.
func copyCatalog(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(name, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(name, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// replaceIn replaces old, which must be there, with new in a file.
func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
