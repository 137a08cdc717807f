package catalog

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/profiles"
)

// TestTrialLimits: a template of any kind that renders beyond the output
// or time limit with its group's own data is refused at load, naming the
// file; a template that merely needs request data is not.
func TestTrialLimits(t *testing.T) {
	bigList := "[" + strings.Repeat(`"x",`, 999) + `"x"]`
	loop := `{{range .l}}{{range $.l}}{{range $.l}}x{{end}}{{end}}{{end}}`
	tests := []struct {
		name  string
		spoil map[string]string
		opt   Options
		want  error
		names string
	}{
		{"slow generic", map[string]string{
			"groups/a.json": `{"id":"a","profile":"p","selector":{"role":"a"},"metadata":{"l":` + bigList + `}}`,
			"generic/g.txt": loop,
		}, Options{RenderTimeout: 20 * time.Millisecond, MaxOutput: 1 << 30}, profiles.ErrRenderTimeout, "generic/g.txt"},
		{"huge cloud-config", map[string]string{
			"groups/a.json": `{"id":"a","profile":"p","selector":{"role":"a"},"metadata":{"l":` + bigList + `}}`,
			"cloud/c.yaml":  loop,
		}, Options{MaxOutput: 1 << 16}, profiles.ErrOutputTooLarge, "cloud/c.yaml"},
		{"huge boot arg", map[string]string{
			"groups/a.json":   `{"id":"a","profile":"p","selector":{"role":"a"},"metadata":{"l":` + bigList + `}}`,
			"profiles/p.json": `{"id":"p","boot":{"kernel":"/k","args":["` + loop + `"]},"ignition_id":"i.yaml","cloud_id":"c.yaml","generic_id":"g.txt"}`,
		}, Options{MaxOutput: 1 << 16}, profiles.ErrOutputTooLarge, "boot.args[0]"},
		{"needs request data", map[string]string{
			"generic/g.txt": "{{ .request.query.hostname }}",
		}, Options{RenderTimeout: time.Second}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := base()
			for k, v := range tc.spoil {
				files[k] = v
			}
			c, err := LoadDir(writeDir(t, files))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = Compile(c, ipam.NewTable(nil), tc.opt)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("got %v, want %v naming %s", err, tc.want, tc.names)
			}
		})
	}
	waitNoAbandoned(t)
}

func waitNoAbandoned(t *testing.T) {
	deadline := time.Now().Add(10 * time.Second)
	for profiles.AbandonedRenders() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTranslatedSizeLimit: a Butane file under the output limit whose
// Ignition is over it (many small files, each larger in JSON) is refused
// at load.
func TestTranslatedSizeLimit(t *testing.T) {
	files := base()
	var b strings.Builder
	b.WriteString("variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n")
	for i := 0; i < 150; i++ {
		fmt.Fprintf(&b, "    - path: /f%d\n      contents: {inline: x}\n", i)
	}
	files["ignition/i.yaml"] = b.String()
	if b.Len() > 8000 {
		t.Fatalf("the Butane is %d bytes", b.Len())
	}
	c, err := LoadDir(writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Compile(c, ipam.NewTable(nil), Options{MaxOutput: 8000, RenderTimeout: -1})
	if !errors.Is(err, profiles.ErrOutputTooLarge) || !strings.Contains(err.Error(), "translated Ignition") {
		t.Fatalf("got %v, want ErrOutputTooLarge for the translation", err)
	}
	if _, _, err := Compile(c, ipam.NewTable(nil), Options{MaxOutput: 40000, RenderTimeout: -1}); err != nil {
		t.Fatalf("under the limit: %v", err)
	}
}

// TestRenderTimeoutAtRequest: a template that is only slow with request
// data passes the load and times out at request time with an error that
// names it and the limit; the render cache is not filled by the failure.
func TestRenderTimeoutAtRequest(t *testing.T) {
	files := base()
	files["generic/g.txt"] = `{{ if .request.query.slow }}{{ range 400 }}{{ range 400 }}{{ if members "role=b" }}{{ end }}{{ end }}{{ end }}{{ end }}ok`
	c, err := LoadDir(writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := Compile(c, ipam.NewTable(nil), Options{RenderTimeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	for _, q := range []map[string]string{{"mac": "52:54:00:00:00:09", "role": "a", "slow": "1"}, {"mac": "52:54:00:00:00:09", "role": "a", "slow": ""}} {
		m, err := s.Resolve(q)
		if err != nil {
			t.Fatal(err)
		}
		in := s.Input(m, "slow="+q["slow"], "http://x", nil)
		out, _, err := s.Config(profiles.KindGeneric, m, in)
		if q["slow"] != "" {
			if !errors.Is(err, profiles.ErrRenderTimeout) || !strings.Contains(err.Error(), "took longer than 30ms") {
				t.Errorf("slow render: %q %v, want a timeout naming the limit", out, err)
			}
			continue
		}
		if err != nil || string(out) != "ok" {
			t.Errorf("fast render: %q %v", out, err)
		}
	}
	waitNoAbandoned(t)
}

// TestTranslationTimeLimit: a Butane config that takes longer than the
// render time limit to translate is refused at load.
func TestTranslationTimeLimit(t *testing.T) {
	files := base()
	var b strings.Builder
	b.WriteString("variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "    - path: /f%d\n      contents: {inline: x}\n", i)
	}
	files["ignition/i.yaml"] = b.String()
	c, err := LoadDir(writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Compile(c, ipam.NewTable(nil), Options{RenderTimeout: 5 * time.Millisecond})
	if !errors.Is(err, profiles.ErrRenderTimeout) || !strings.Contains(err.Error(), "Butane translation took longer than 5ms") {
		t.Fatalf("got %v, want the translation timed out", err)
	}
	waitNoAbandoned(t)
}
