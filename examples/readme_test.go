package examples_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeEndpoints runs every curl of the README's Endpoints section
// against examples/production as a real server serves it and compares the
// output the README shows with what the server answers: the same bodies,
// the same status lines and headers (but Date), and for the two Ignition
// answers piped through jq, the same fields. Only the asset downloads are
// left out: they need the Flatcar kernel (examples/get-flatcar.sh).
func TestReadmeEndpoints(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	start := strings.Index(section, "\n## Endpoints")
	end := strings.Index(section[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("README has no Endpoints section")
	}
	section = section[start : start+1+end]
	hs := serve(t, "production")
	host := strings.TrimPrefix(hs.URL, "http://")
	checked := 0
	for _, block := range regexp.MustCompile("(?s)```console\n(.*?)```").FindAllStringSubmatch(section, -1) {
		cmds := strings.Split("\n"+block[1], "\n$ ")[1:]
		for _, c := range cmds {
			line, shown, _ := strings.Cut(c, "\n")
			shown = strings.TrimRight(shown, "\n")
			if strings.Contains(line, "/assets/") || !strings.HasPrefix(line, "curl ") {
				continue
			}
			t.Run(line, func(t *testing.T) {
				got := runCurl(t, strings.ReplaceAll(line, "127.0.0.1:8080", host))
				got = strings.ReplaceAll(got, host, "127.0.0.1:8080")
				if strings.Contains(line, " -i ") {
					compareHeaders(t, shown, got)
					return
				}
				if got != shown {
					t.Errorf("the README shows\n%s\nthe server answers\n%s", shown, got)
				}
			})
			checked++
		}
	}
	if checked < 8 {
		t.Errorf("checked %d curl commands; the README's Endpoints section has more", checked)
	}
}

var curlURL = regexp.MustCompile(`'(http://[^']*)'`)

// runCurl does what one README curl line does: GET with its -H header,
// -i for the status line and headers, and the two jq filters it uses.
func runCurl(t *testing.T, line string) string {
	t.Helper()
	u := curlURL.FindStringSubmatch(line)
	if u == nil {
		t.Fatalf("no URL in %q", line)
	}
	req, err := http.NewRequest("GET", u[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := regexp.MustCompile(`-H '([^:]*): ([^']*)'`).FindStringSubmatch(line); h != nil {
		req.Header.Set(h[1], h[2])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(line, " -i ") {
		var b strings.Builder
		b.WriteString(resp.Proto + " " + resp.Status + "\n")
		for k, vs := range resp.Header {
			for _, v := range vs {
				b.WriteString(k + ": " + v + "\n")
			}
		}
		return b.String() + "\n" + strings.TrimRight(string(body), "\n")
	}
	if resp.StatusCode >= 400 && strings.Contains(line, "curl -f") {
		t.Fatalf("%s: %d, which curl -f fails on", u[1], resp.StatusCode)
	}
	_, filter, piped := strings.Cut(line, "| jq -r ")
	if !piped {
		return strings.TrimRight(string(body), "\n")
	}
	var cfg struct {
		Storage struct{ Files []struct{ Path string } }
		Systemd struct {
			Units []struct {
				Name    string
				Dropins []struct{ Contents string }
			}
		}
	}
	if err := json.Unmarshal(body, &cfg); err != nil {
		t.Fatal(err)
	}
	var out []string
	switch filter {
	case `'.systemd.units[0].dropins[0].contents'`:
		out = append(out, cfg.Systemd.Units[0].Dropins[0].Contents)
	case `'.storage.files[].path, .systemd.units[].name'`:
		for _, f := range cfg.Storage.Files {
			out = append(out, f.Path)
		}
		for _, u := range cfg.Systemd.Units {
			out = append(out, u.Name)
		}
	default:
		t.Fatalf("jq filter %s: teach runCurl what it does", filter)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n")
}

// compareHeaders checks curl -i output: the status line and body equal,
// every header shown present with its value (but Date, which changes).
func compareHeaders(t *testing.T, shown, got string) {
	t.Helper()
	shownHead, shownBody, _ := strings.Cut(shown, "\n\n")
	gotHead, gotBody, _ := strings.Cut(got, "\n\n")
	sl, gl := strings.Split(shownHead, "\n"), strings.Split(gotHead, "\n")
	if sl[0] != gl[0] || shownBody != gotBody {
		t.Errorf("the README shows\n%s\nthe server answers\n%s", shown, got)
	}
	for _, h := range sl[1:] {
		if !strings.HasPrefix(h, "Date: ") && !strings.Contains(gotHead, "\n"+h) {
			t.Errorf("the server answers no %q:\n%s", h, gotHead)
		}
	}
	if len(sl) != len(gl) {
		t.Errorf("the README shows %d headers, the server answers %d:\n%s", len(sl)-1, len(gl)-1, gotHead)
	}
}
