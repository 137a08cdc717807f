package profiles

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fastVsSlow renders tm with data through FastIgnition and through the
// slow path (Execute, then ButaneToIgnition) and fails t if the fast path
// answered anything but the slow path's bytes, or answered where the slow
// path fails or warns. It returns whether the fast path answered.
func fastVsSlow(t testing.TB, tm *Template, data map[string]any) bool {
	t.Helper()
	out, ok := tm.FastIgnition(data, 0, -1)
	if !ok {
		return false
	}
	src, err := tm.Execute(data, 0)
	if err != nil {
		t.Fatalf("fast path answered, the render fails: %v", err)
	}
	slow, ws, err := ButaneToIgnition(src)
	if err != nil || len(ws) > 0 {
		t.Fatalf("fast path answered\n%s\nthe slow path: warnings %q, error %v, for\n%s", out, ws, err, src)
	}
	if !bytes.Equal(out, slow) {
		t.Fatalf("fast path served\n%s\nthe slow path\n%s\nfor\n%s", out, slow, src)
	}
	return true
}

// fastMatchbox is internal/catalogen's matchbox-shape template (which
// profiles cannot import): a storm machine's Butane.
const fastMatchbox = `variant: flatcar
version: 1.0.0
passwd:
  users:
    - name: core
      ssh_authorized_keys:
{{- range .ssh_authorized_keys }}
        - {{ . }}
{{- end }}
storage:
  files:
    - path: /etc/hostname
      mode: 0644
      contents:
        inline: {{ .hostname }}
    - path: /etc/systemd/network/10-static.network
      mode: 0644
      contents:
        inline: |
          [Match]
          MACAddress={{ .mac }}
          [Network]
          Address={{ .cidr }}
          Gateway={{ .gateway }}
          DNS={{ join .dns " " }}
systemd:
  units:
    - name: locksmithd.service
      mask: true
    - name: node-exporter.service
      enabled: true
      contents: |
        [Unit]
        Description=node exporter ({{ .rack }})
        [Service]
        ExecStart=/usr/bin/docker run --rm --net=host quay.io/prometheus/node-exporter
        [Install]
        WantedBy=multi-user.target
`

// fastContexts has a hole in every eligible place and style: plain,
// double- and single-quoted and literal file contents, an appended
// fragment, unit and dropin contents.
const fastContexts = `variant: fcos
version: 1.5.0
storage:
  files:
    - path: /etc/plain
      contents:
        inline: {{ .plain }}
    - path: /etc/double
      contents:
        inline: "x={{ .double }}"
    - path: /etc/single
      contents:
        inline: 'x={{ .single }}'
    - path: /etc/literal
      contents:
        inline: |
          first line
            {{ .literal }} and more
          {{ .literal2 }}
    - path: /etc/appended
      append:
        - inline: |
            {{ .literal }}
systemd:
  units:
    - name: a.service
      enabled: true
      contents: |
        [Unit]
        Description={{ .unit }}
        [Service]
        ExecStart=/bin/true {{ .literal2 }}
        [Install]
        WantedBy=multi-user.target
      dropins:
        - name: b.conf
          contents: |
            [Service]
            Environment=A={{ .unit }}
`

func matchboxData(i int, host string) map[string]any {
	return map[string]any{
		"ssh_authorized_keys": []any{"ssh-ed25519 AAAAC3Nza provisiond-storm"},
		"hostname":            host,
		"mac":                 fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8&0xff, i&0xff),
		"cidr":                "10.128.0." + itoa(i) + "/9",
		"gateway":             "10.128.0.1",
		"dns":                 []any{"10.128.0.2", "1.1.1.1"},
		"rack":                "r00" + itoa(i%10),
	}
}

func contextsData() map[string]any {
	return map[string]any{
		"plain": "node-0042", "double": "a b:c#d 'e'", "single": "a b:c#d (e)",
		"literal": "MAC=52:54:00:00:00:2a # not a comment", "literal2": "x: y - z",
		"unit": "node exporter (r001)",
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func mustCompile(t testing.TB, text string) *Template {
	t.Helper()
	tm, err := Compile("t.yaml", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestButaneFastPathAgrees renders storm-like machines through both paths:
// every answer of the fast path must be the slow path's bytes, and after
// a shape's first machine the fast path must answer.
func TestButaneFastPathAgrees(t *testing.T) {
	for name, c := range map[string]struct {
		text string
		data func(i int) map[string]any
	}{
		"matchbox": {fastMatchbox, func(i int) map[string]any { return matchboxData(i, "node-"+itoa(i)) }},
		"contexts": {fastContexts, func(i int) map[string]any {
			d := contextsData()
			d["plain"] = "host" + itoa(i)
			d["literal"] = strings.Repeat("a b%c ", i) + "end"
			d["unit"] = "unit " + itoa(i)
			return d
		}},
	} {
		t.Run(name, func(t *testing.T) {
			tm := mustCompile(t, c.text)
			for i := range 60 {
				if !fastVsSlow(t, tm, c.data(i)) {
					t.Fatalf("machine %d: the fast path declined", i)
				}
			}
			if hits, declines, builds := tm.FastStats(); hits != 60 || declines != 0 || builds != 1 {
				t.Fatalf("hits %d, declines %d, shape builds %d; want 60, 0, 1", hits, declines, builds)
			}
		})
	}
}

// TestButaneFastPathEncodings checks file contents whose data URL goes
// from percent-encoding to base64 as a value grows: the fast path
// re-encodes the whole text, as Butane does.
func TestButaneFastPathEncodings(t *testing.T) {
	tm := mustCompile(t, fastContexts)
	sawBase64, sawPercent := false, false
	for _, v := range []string{"abc", "a b", "a  b  c  d", "x" + strings.Repeat("  x", 40), strings.Repeat("%%%%", 100), strings.Repeat("ab", 2000)} {
		d := contextsData()
		d["literal"] = v
		// A plain scalar longer than YAML's 1024-character limit on
		// simple keys: still a value.
		d["plain"] = "h" + strings.Repeat("-x", len(v)/2)
		if !fastVsSlow(t, tm, d) {
			t.Fatalf("%.40q: the fast path declined", v)
		}
		out, _ := tm.FastIgnition(d, 0, -1)
		sawBase64 = sawBase64 || bytes.Contains(out, []byte(`"source":"data:;base64,`))
		sawPercent = sawPercent || bytes.Contains(out, []byte(`"source":"data:,first%20line`))
	}
	if !sawBase64 || !sawPercent {
		t.Fatalf("base64 seen %v, percent-encoding seen %v: the values do not cross the encodings", sawBase64, sawPercent)
	}
}

// TestButaneFastPathVersions: fcos 1.0.0 (Butane's base v0_1) always
// percent-encodes file contents instead of calling MakeDataURL; the fast
// path must not answer for it, whatever the values. Every other stable
// flatcar and fcos version must agree byte for byte.
func TestButaneFastPathVersions(t *testing.T) {
	values := []string{"abc", "x" + strings.Repeat(" ~", 200), "x" + strings.Repeat("  ", 300) + "y"}
	for _, v := range []struct{ variant, version string }{
		{"fcos", "1.0.0"}, {"fcos", "1.1.0"}, {"fcos", "1.2.0"}, {"fcos", "1.3.0"}, {"fcos", "1.4.0"}, {"fcos", "1.5.0"},
		{"fcos", "1.6.0"}, {"fcos", "1.7.0"}, {"flatcar", "1.0.0"}, {"flatcar", "1.1.0"},
	} {
		tm := mustCompile(t, "variant: "+v.variant+"\nversion: "+v.version+"\nstorage:\n  files:\n    - path: /etc/x\n      contents:\n        inline: |\n          a={{ .v }}\n")
		answered := 0
		for _, val := range values {
			if fastVsSlow(t, tm, map[string]any{"v": val}) {
				answered++
			}
		}
		switch {
		case v.version == "1.0.0" && v.variant == "fcos" && answered > 0:
			t.Errorf("%s %s: the fast path answered", v.variant, v.version)
		case !(v.version == "1.0.0" && v.variant == "fcos") && answered != len(values):
			t.Errorf("%s %s: the fast path answered %d of %d", v.variant, v.version, answered, len(values))
		}
	}
}

// TestButaneFastPathDeclinesValues puts one value the fast path cannot
// prove into one hole at a time: the fast path must decline (the caller
// then takes the slow path, which gives whatever Butane makes of it).
func TestButaneFastPathDeclinesValues(t *testing.T) {
	tm := mustCompile(t, fastContexts)
	if !fastVsSlow(t, tm, contextsData()) {
		t.Fatal("the safe values were declined")
	}
	cases := map[string][]string{
		// YAML would type these, or they end or start something.
		"plain": {"true", "True", "FALSE", "null", "Null", "NULL", "1e3", "0x10", "10", "0o17", "1_000", "-1", ".5",
			"2001-12-14", "2001-12-14t21:59:43.10-05:00", "~", "a b", "a:b", "a#b", "", "-x", " x", "x ", "a,b", "[x]", "{x}",
			"*x", "&x", "!x", "|x", ">x", "'x", `"x`, "%x", "@x", "`x", "é", "a\nb", "a\x00b", "a\tb", "a<b", "a&b", ".inf", "_x"},
		"double":   {`a"b`, `a\nb`, "a\nb", "", " x", "x ", "a<b", "a>b", "a&b", "é", "\x7f", "a\x00b"},
		"single":   {"it's", "a\nb", "", " x", "x "},
		"literal":  {"a\nb", "", " x", "x ", "\tx", `a"b`, `a\b`, "a<b", "é", "a\rb"},
		"literal2": {"a\nb: c", "a\n"},
		// Unit text must parse to the same sections and option names.
		"unit": {"a\n[Install]", "x\\", strings.Repeat("x", 3000)},
	}
	for field, values := range cases {
		for _, v := range values {
			d := contextsData()
			d[field] = v
			_, declines0, _ := tm.FastStats()
			if fastVsSlow(t, tm, d) {
				t.Errorf("%s=%q: the fast path answered", field, v)
			}
			if _, declines, _ := tm.FastStats(); declines != declines0+1 {
				t.Errorf("%s=%q: not counted as declined", field, v)
			}
		}
	}
	// The long unit line is one Ignition refuses: the slow path fails, as
	// it must for the fast path's decline to matter.
	d := contextsData()
	d["unit"] = strings.Repeat("x", 3000)
	src, err := tm.Execute(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ButaneToIgnition(src); err == nil {
		t.Fatal("a 3000-byte unit line translates; the test's unsafe unit value is not unsafe")
	}
}

// TestButaneFastPathDeclinesShapes lists templates whose holes are where
// a value could change more than its own copy: the fast path must never
// answer for them.
func TestButaneFastPathDeclinesShapes(t *testing.T) {
	const head = "variant: flatcar\nversion: 1.0.0\n"
	cases := map[string]string{
		"path":         head + "storage:\n  files:\n    - path: /etc/{{ .v }}\n      contents:\n        inline: x\n",
		"unit name":    head + "systemd:\n  units:\n    - name: {{ .v }}.service\n      mask: true\n",
		"user":         head + "passwd:\n  users:\n    - name: {{ .v }}\n",
		"mode":         head + "storage:\n  files:\n    - path: /etc/x\n      mode: {{ .v }}\n",
		"source URL":   head + "storage:\n  files:\n    - path: /etc/x\n      contents:\n        source: data:,{{ .v }}\n",
		"folded":       head + "storage:\n  files:\n    - path: /etc/x\n      contents:\n        inline: >\n          {{ .v }}\n",
		"tagged":       head + "storage:\n  files:\n    - path: /etc/x\n      contents:\n        inline: !!str {{ .v }}\n",
		"anchor":       head + "storage:\n  files:\n    - path: /etc/x\n      contents:\n        inline: &a {{ .v }}\n    - path: /etc/y\n      contents:\n        inline: *a\n",
		"key":          head + "storage:\n  files:\n    - path: /etc/x\n      contents:\n        {{ .v }}: x\n",
		"comment":      head + "# {{ .v }}\nstorage:\n  files:\n    - path: /etc/x\n      contents:\n        inline: x\n",
		"config merge": head + "ignition:\n  config:\n    merge:\n      - inline: '{\"ignition\":{\"version\":\"3.3.0\"},\"x\":\"{{ .v }}\"}'\n",
		"unit option":  head + "systemd:\n  units:\n    - name: a.service\n      contents: |\n        [Unit]\n        {{ .v }}=x\n",
		"warns":        head + "systemd:\n  units:\n    - name: a.service\n      enabled: true\n      contents: |\n        [Unit]\n        Description={{ .v }}\n",
		"openshift":    "variant: openshift\nversion: 4.14.0\nmetadata:\n  name: x\n  labels:\n    machineconfiguration.openshift.io/role: worker\nstorage:\n  files:\n    - path: /etc/x\n      contents:\n        inline: {{ .v }}\n",
		"no holes":     head + "{{ if .v }}storage:\n  files:\n    - path: /etc/x\n      contents:\n        inline: {{ .v }}\n{{ end }}",
		"experimental": "variant: flatcar\nversion: 1.2.0-experimental\nstorage:\n  files:\n    - path: /etc/x\n      contents:\n        inline: {{ .v }}\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			tm := mustCompile(t, text)
			for _, v := range []string{"abc", "node-1", "xyz"} {
				if fastVsSlow(t, tm, map[string]any{"v": v}) {
					t.Fatalf("%q: the fast path answered", v)
				}
			}
		})
	}
}

// TestButaneFastPathNeedsNoCompression: with Butane's auto-compression
// on, a data URL's encoding and the compression field would depend on
// the contents' size; the fast path is then off.
func TestButaneFastPathNeedsNoCompression(t *testing.T) {
	tm := mustCompile(t, fastMatchbox)
	old := translateOptions
	defer func() { translateOptions = old }()
	translateOptions.NoResourceAutoCompression = false
	if _, ok := tm.FastIgnition(matchboxData(1, "node-001"), 0, -1); ok {
		t.Fatal("the fast path answered with auto-compression on")
	}
	translateOptions = old
	if !fastVsSlow(t, tm, matchboxData(1, "node-001")) {
		t.Fatal("the fast path declined with auto-compression off")
	}
}

// TestButaneFastPathBudget: a template whose shape changes with every
// machine (its values are inside a range) stops building shapes after a
// few, rather than translating three times per machine.
func TestButaneFastPathBudget(t *testing.T) {
	tm := mustCompile(t, "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n{{- range .files }}\n    - path: /etc/{{ . }}\n      contents:\n        inline: {{ $.v }}\n{{- end }}\n")
	for i := range 40 {
		fastVsSlow(t, tm, map[string]any{"files": []any{"f" + itoa(i)}, "v": "x"})
	}
	if _, _, builds := tm.FastStats(); builds > fastFreeBuilds {
		t.Fatalf("%d shapes built for 40 machines of 40 shapes; want at most %d", builds, fastFreeBuilds)
	}
}

// TestButaneFastPathConcurrent starts many machines of one new shape at
// once, as a storm does: one builds the shape, the others wait for it,
// and every answer is the slow path's bytes.
func TestButaneFastPathConcurrent(t *testing.T) {
	tm := mustCompile(t, fastMatchbox)
	const n = 64
	outs := make([][]byte, n)
	oks := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], oks[i] = tm.FastIgnition(matchboxData(i, fmt.Sprintf("node-%06d", i)), 0, -1)
		}()
	}
	wg.Wait()
	for i := range n {
		if !oks[i] {
			t.Fatalf("machine %d: the fast path declined", i)
		}
		src, err := tm.Execute(matchboxData(i, fmt.Sprintf("node-%06d", i)), 0)
		if err != nil {
			t.Fatal(err)
		}
		slow, _, err := ButaneToIgnition(src)
		if err != nil || !bytes.Equal(outs[i], slow) {
			t.Fatalf("machine %d: fast path served\n%s\nthe slow path (error %v)\n%s", i, outs[i], err, slow)
		}
	}
	if _, _, builds := tm.FastStats(); builds != 1 {
		t.Fatalf("%d shape builds for one shape", builds)
	}
}

// TestButaneFastPathKeepsTheOutputLimit: a rendering over Execute's
// output limit is Execute's error, not an answer, even though the marked
// rendering the fast path makes is allowed the markers on top.
func TestButaneFastPathKeepsTheOutputLimit(t *testing.T) {
	tm := mustCompile(t, fastMatchbox)
	d := matchboxData(1, "node-000001")
	src, err := tm.Execute(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.Execute(d, len(src)-1); err == nil {
		t.Fatal("Execute with a limit one byte short did not fail")
	}
	if out, ok := tm.FastIgnition(d, len(src)-1, -1); ok {
		t.Fatalf("the fast path answered over the limit:\n%s", out)
	}
	if _, ok := tm.FastIgnition(d, len(src), -1); !ok {
		t.Fatal("the fast path declined at the limit exactly")
	}
}
