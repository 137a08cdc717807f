package profiles

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/groups"
)

// TestReads checks the keys found in templates of every construct, and
// that the ones reading the data whole say so.
func TestReads(t *testing.T) {
	for _, tc := range []struct {
		text string
		keys []string // nil: all
	}{
		{`static`, []string{}},
		{`{{ .hostname }} {{ .a.b.c }}`, []string{"a", "hostname"}},
		{`{{ if .x }}{{ .y }}{{ else }}{{ .z }}{{ end }}`, []string{"x", "y", "z"}},
		{`{{ range .disks }}{{ .name }}{{ . }}{{ end }}`, []string{"disks"}},
		{`{{ range $i, $d := .disks }}{{ $d }}{{ $.host }}{{ end }}`, []string{"disks", "host"}},
		{`{{ with .gpu }}{{ .model }}{{ else }}{{ .cpu }}{{ end }}`, []string{"cpu", "gpu"}},
		{`{{ with .a }}{{ else with .b }}{{ .c }}{{ end }}`, []string{"a", "b"}},
		{`{{ if index . "ssh" }}{{ index . "disk" 0 }}{{ index $ "x" .y }}{{ end }}`, []string{"disk", "ssh", "x", "y"}},
		{`{{ with .a }}{{ index . "b" }}{{ end }}`, []string{"a"}},
		{`{{ $h := .hostname }}{{ $h }}`, []string{"hostname"}},
		{`{{ index .labels "rack" }} {{ len .keys }} {{ printf "%s" (.v) }}`, []string{"keys", "labels", "v"}},
		{`{{ .request.query.mac }} {{ .server.url }}`, []string{"request", "server"}},
		{`{{ range .a }}{{ break }}{{ end }}{{ range 3 }}{{ continue }}{{ end }}`, []string{"a"}},
		{`{{/* .comment */}}{{ "x" }} {{ 1 }} {{ true }} {{ nil | print }}`, []string{}},
		// The data whole:
		{`{{ . }}`, nil},
		{`{{ print . }}`, nil},
		{`{{ index . .key }}`, nil},
		{`{{ default "x" . }}`, nil},
		{`{{ range $k, $v := . }}{{ $k }}{{ end }}`, nil},
		{`{{ $d := . }}{{ $d.host }}`, nil},
		{`{{ with .a }}{{ $ }}{{ end }}`, nil},
		{`{{ define "x" }}{{ .host }}{{ end }}{{ template "x" . }}`, nil},
		{`{{ block "b" .a }}{{ .c }}{{ end }}`, nil},
	} {
		tmpl, err := Compile("t", tc.text, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.text, err)
		}
		keys, all := tmpl.Reads()
		if tc.keys == nil {
			if !all {
				t.Errorf("%s: reads %v, want the data whole", tc.text, keys)
			}
			continue
		}
		if all || !slices.Equal(keys, tc.keys) && !(len(keys) == 0 && len(tc.keys) == 0) {
			t.Errorf("%s: reads %v (all %v), want %v", tc.text, keys, all, tc.keys)
		}
	}
	if _, all := (&Template{}).Reads(); !all {
		t.Error("a Template not compiled must read the data whole")
	}
}

// TestReadsRenderSame: a template renders the same, or fails the same,
// from the whole data and from the data cut down to the keys it reads,
// for the templates of the examples and testdata and for random data
// with keys it reads and keys it does not. This is what lets the
// catalog check one group per shape of the keys a template reads.
func TestReadsRenderSame(t *testing.T) {
	var texts []string
	for _, glob := range []string{"../examples/*/ignition/*.yaml", "../examples/*/cloud/*", "../examples/*/generic/*", "testdata/*.yaml", "testdata/*.tmpl"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			texts = append(texts, string(b))
		}
	}
	texts = append(texts,
		`{{ .hostname }}{{ range .ssh_authorized_keys }}- {{ . }}{{ end }}`,
		`{{ if .gpu }}{{ .gpu.model }}x{{ .gpu.count }}{{ else }}none{{ end }} {{ $.rack }}`,
		`{{ with .request.query }}{{ .mac }}{{ end }}{{ .machine.name }}`,
		`{{ range $i, $d := .disks }}{{ $i }}={{ $d }} {{ $.hostname }};{{ end }}`,
		`{{ with index . "vault" }}vault={{ . }}{{ end }}{{ if index $ "cabinet" }}cab{{ end }}`,
	)
	if len(texts) < 8 {
		t.Fatalf("only %d templates found", len(texts))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	members := func(string) ([]Member, error) { return nil, nil }
	restricted, rendered := 0, 0
	for _, text := range texts {
		tmpl, err := Compile("t", text, members)
		if err != nil {
			continue // testdata of bad templates
		}
		reads, all := tmpl.Reads()
		if all {
			continue
		}
		restricted++
		// Keys: the words of the template's actions (those it reads,
		// among others) and some it never names. Values of the type the
		// template uses a key as, so that most renders get to the end:
		// a list for a key it ranges over, a map with every word as a
		// key for one it reads a field of, a string else.
		words := map[string]bool{"extra1": true, "extra2": true, "serial": true}
		for _, a := range actionText.FindAllString(text, -1) {
			for _, w := range actionWord.FindAllString(a, -1) {
				words[w] = true
			}
		}
		ranged, fielded := map[string]bool{}, map[string]bool{}
		for _, m := range rangeOver.FindAllStringSubmatch(text, -1) {
			ranged[m[1]] = true
		}
		for _, m := range fieldOf.FindAllStringSubmatch(text, -1) {
			fielded[m[1]] = true
		}
		every := map[string]any{}
		for w := range words {
			every[w] = "v-" + w
		}
		value := func(k string) any {
			switch {
			case ranged[k]:
				return []any{"a", "b"}[:rng.IntN(3)%2+1]
			case fielded[k]:
				return every
			}
			return []any{"node-01", "10.0.0.1", "yes", ""}[rng.IntN(4)]
		}
		for range 300 {
			data := map[string]any{}
			for w := range words {
				if rng.IntN(4) > 0 {
					data[w] = value(w)
				}
			}
			cut := map[string]any{}
			for _, k := range reads {
				if v, ok := data[k]; ok {
					cut[k] = v
				}
			}
			a, errA := tmpl.Execute(data, 0)
			b, errB := tmpl.Execute(cut, 0)
			if string(a) != string(b) || fmt.Sprint(errA) != fmt.Sprint(errB) {
				t.Fatalf("template %q reads %v:\nwhole data: %q, %v\ncut down:   %q, %v", firstLines(text), reads, a, errA, b, errB)
			}
			if errA == nil {
				rendered++
			}
		}
	}
	t.Logf("%d templates read less than the whole data; %d renders of them got to the end", restricted, rendered)
	if rendered < 300 {
		t.Errorf("only %d renders got to the end: the test checks too little", rendered)
	}
	if restricted < 5 {
		t.Errorf("only %d templates read less than the whole data", restricted)
	}
}

var (
	rangeOver  = regexp.MustCompile(`range\s+(?:\$\w+\s*(?:,\s*\$\w+\s*)?:=\s*)?\.(\w+)`)
	fieldOf    = regexp.MustCompile(`\.(\w+)\.\w`)
	actionText = regexp.MustCompile(`\{\{[^}]*\}\}`)
	actionWord = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
)

func firstLines(s string) string {
	lines := strings.SplitN(s, "\n", 4)
	return strings.Join(lines[:min(3, len(lines))], "\n")
}

// FuzzReads: for any template that compiles and reads less than the
// whole data, a render from data cut down to the keys it reads is the
// render from the whole data (output, or error), with data made of the
// words of its actions.
func FuzzReads(f *testing.F) {
	for _, s := range []string{
		`{{ .a }}{{ range .b }}{{ . }}{{ $.c }}{{ end }}`,
		`{{ with .a }}{{ .x }}{{ else }}{{ index . "b" }}{{ end }}`,
		`{{ if index $ "a" }}{{ (index . "b").c }}{{ end }}{{ $v := .d }}{{ $v }}`,
		`{{ range $i, $e := .a }}{{ $i }}{{ $e.b }}{{ end }}{{ .c.d | printf "%v" }}`,
		`{{ with $ }}{{ .a }}{{ end }}`,
		`{{ define "x" }}{{ .a }}{{ end }}{{ .b }}`,
	} {
		f.Add(s, uint64(1))
	}
	members := func(string) ([]Member, error) { return nil, nil }
	f.Fuzz(func(t *testing.T, text string, seed uint64) {
		tmpl, err := Compile("t", text, members)
		if err != nil {
			return
		}
		reads, all := tmpl.Reads()
		if all {
			return
		}
		rng := rand.New(rand.NewPCG(seed, 7))
		words := map[string]bool{"other": true}
		for _, a := range actionText.FindAllString(text, -1) {
			for _, w := range actionWord.FindAllString(a, -1) {
				words[w] = true
			}
		}
		every := map[string]any{}
		for w := range words {
			every[w] = "v-" + w
		}
		pick := []func() any{
			func() any { return "s" },
			func() any { return "" },
			func() any { return 2.0 },
			func() any { return true },
			func() any { return nil },
			func() any { return []any{"x", "y"} },
			func() any { return every },
		}
		data := map[string]any{}
		for w := range words {
			if rng.IntN(4) > 0 {
				data[w] = pick[rng.IntN(len(pick))]()
			}
		}
		cut := map[string]any{}
		for _, k := range reads {
			if v, ok := data[k]; ok {
				cut[k] = v
			}
		}
		a, errA := tmpl.ExecuteTimeout(data, 1<<16, time.Second)
		b, errB := tmpl.ExecuteTimeout(cut, 1<<16, time.Second)
		if errors.Is(errA, ErrRenderTimeout) || errors.Is(errB, ErrRenderTimeout) || errors.Is(errA, ErrRenderBusy) || errors.Is(errB, ErrRenderBusy) {
			return
		}
		if string(a) != string(b) || fmt.Sprint(errA) != fmt.Sprint(errB) {
			t.Fatalf("template %q reads %v:\nwhole data: %q, %v\ncut down:   %q, %v", text, reads, a, errA, b, errB)
		}
	})
}

// TestDataFor: DataFor and BootDataFor give each key asked for the value
// Data and BootData give it, and nothing else, for inputs where metadata,
// selector and provisiond's own keys meet (metadata shadowed by the
// selector, "request" and "boot_token" in metadata, an "ip" with and
// without a pool's lease).
func TestDataFor(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	names := []string{"hostname", "role", "ip", "request", "server", "machine", "boot_token", "mac", "disks", "absent"}
	for range 500 {
		md := map[string]any{}
		sel := map[string]string{}
		for _, k := range names[:len(names)-1] {
			if rng.IntN(2) == 0 {
				md[k] = []any{"m-" + k, 1.0}
			}
			if rng.IntN(2) == 0 {
				sel[k] = "s-" + k
			}
		}
		in := Input{
			Metadata: groups.MetadataOf(md), Selector: groups.SelectorOf(sel),
			Query: map[string]string{"mac": "52:54:00:00:00:01"}, RawQuery: "mac=52:54:00:00:00:01",
			ServerURL: "http://10.0.2.2:8080", BootToken: "tok",
			Machine: MachineData{Name: "n1", MAC: "52:54:00:00:00:01", Labels: map[string]string{"a": "b"}},
		}
		if rng.IntN(2) == 0 {
			in.IP = map[string]any{"address": "10.0.0.5"}
		}
		var keys []string
		for _, k := range names {
			if rng.IntN(2) == 0 {
				keys = append(keys, k)
			}
		}
		for _, c := range []struct {
			name       string
			whole, cut map[string]any
		}{
			{"DataFor", Data(in), DataFor(in, keys, false)},
			{"BootDataFor", BootData(in), BootDataFor(in, keys, false)},
		} {
			want := map[string]any{}
			for _, k := range keys {
				if v, ok := c.whole[k]; ok {
					want[k] = v
				}
			}
			if !reflect.DeepEqual(c.cut, want) {
				t.Fatalf("%s(%v) of metadata %v, selector %v, ip %v:\n got %v\nwant %v", c.name, keys, md, sel, in.IP, c.cut, want)
			}
		}
		if !reflect.DeepEqual(DataFor(in, nil, true), Data(in)) || !reflect.DeepEqual(BootDataFor(in, nil, true), BootData(in)) {
			t.Fatal("DataFor and BootDataFor of the data whole are not Data and BootData")
		}
	}
}
