package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// echoVerb records the arguments it was run with.
func echoVerb(name string, got *[]string) Verb {
	return Verb{Name: name, Summary: "test verb", Run: func(args []string, stdout, stderr io.Writer) int {
		*got = args
		return 0
	}}
}

func TestProgramRun(t *testing.T) {
	var got []string
	p := &Program{Verbs: []Verb{echoVerb("serve", &got), echoVerb("leases", &got), echoVerb("import-matchbox", &got)}}
	tests := []struct {
		name     string
		args     []string
		code     int
		wantArgs []string // of the verb, when run
		stderr   string   // the one line, when an error
	}{
		{"global flag before the verb", []string{"--server", "http://x:1", "leases", "--pool", "a"}, 0, []string{"--server", "http://x:1", "--pool", "a"}, ""},
		{"global flag with =", []string{"--server=http://x:1", "-token-file", "t", "leases"}, 0, []string{"--server=http://x:1", "-token-file", "t"}, ""},
		{"global flag after the verb", []string{"leases", "--server", "u"}, 0, []string{"--server", "u"}, ""},
		{"help for a verb", []string{"help", "leases"}, 0, []string{"--help"}, ""},
		{"typo of a verb", []string{"serv"}, 2, nil, `provisiond: unknown command "serv"; did you mean serve? (provisiond --help)` + "\n"},
		{"prefix of a verb", []string{"import"}, 2, nil, `provisiond: unknown command "import"; did you mean import-matchbox? (provisiond --help)` + "\n"},
		{"nothing close", []string{"frobnicate"}, 2, nil, `provisiond: unknown command "frobnicate" (provisiond --help)` + "\n"},
		{"unknown flag before the verb", []string{"--sever", "u", "leases"}, 2, nil, "provisiond: unknown flag --sever before the verb; did you mean --server? (provisiond --help)\n"},
		{"global flag without its value", []string{"--server"}, 2, nil, "provisiond: flag needs an argument: --server\n"},
		{"global flags and no verb", []string{"--server", "u"}, 2, nil, "provisiond: connection flags given, but no verb (provisiond --help)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			var stdout, stderr bytes.Buffer
			code := p.Run(tc.args, &stdout, &stderr)
			if code != tc.code || stderr.String() != tc.stderr {
				t.Fatalf("exit %d, stderr %q; want %d, %q", code, stderr.String(), tc.code, tc.stderr)
			}
			if tc.wantArgs != nil && !slices.Equal(got, tc.wantArgs) {
				t.Errorf("verb got %q, want %q", got, tc.wantArgs)
			}
		})
	}
}

func TestOverviewListsEveryVerb(t *testing.T) {
	p := &Program{Verbs: []Verb{{Name: "serve", Args: "[flags]", Summary: "run the server"}, {Name: "db", Args: "check|backup", Summary: "the database"}}}
	var stdout bytes.Buffer
	if code := p.Run([]string{"help"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("help: exit %d", code)
	}
	for _, want := range []string{"provisiond serve [flags]", "provisiond db check|backup", "the database", "provisiond completion bash|zsh", "provisiond version", "Exit status: 0 done, 1 refused or failed, 2 a usage mistake"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestParseErrors(t *testing.T) {
	newFS := func() *flag.FlagSet {
		var cfg ClientConfig
		fs := clientFlags("get", &cfg, true, io.Discard, "intro\n")
		fs.String("pool", "", "")
		return fs
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--pol", "x"}, "unknown flag --pol; did you mean --pool? (provisiond get --help)"},
		{[]string{"--output", "json"}, "unknown flag --output; did you mean -o? (provisiond get --help)"},
		{[]string{"--frobnicate"}, "unknown flag --frobnicate (provisiond get --help)"},
		{[]string{"-o", "xml"}, `invalid value "xml" for flag -o: want table, json or yaml (provisiond get --help)`},
		{[]string{"--timeout", "soon"}, `invalid value "soon" for flag --timeout: parse error (provisiond get --help)`},
		{[]string{"groups", "--pool"}, "flag needs an argument: --pool (provisiond get --help)"},
	}
	for _, tc := range tests {
		_, err := parseClient(newFS(), tc.args)
		var ue *UsageError
		if !errors.As(err, &ue) || err.Error() != tc.want {
			t.Errorf("%q: %v (%T), want the usage error %q", tc.args, err, err, tc.want)
		}
	}
	// Help is printed once, on --help only.
	var help bytes.Buffer
	var cfg ClientConfig
	fs := clientFlags("get", &cfg, true, &help, "the intro\n")
	if _, err := parseClient(fs, []string{"--nope"}); err == nil || help.Len() != 0 {
		t.Errorf("an unknown flag printed the help: %q", help.String())
	}
	if _, err := parseClient(fs, []string{"--help"}); !errors.Is(err, flag.ErrHelp) || !strings.HasPrefix(help.String(), "the intro\n") {
		t.Errorf("--help: %v %q", err, help.String())
	}
}

func TestExit(t *testing.T) {
	tests := []struct {
		err  error
		code int
		line string
	}{
		{nil, 0, ""},
		{flag.ErrHelp, 0, ""},
		{Usagef("want DIR"), 2, "provisiond: export: want DIR\n"},
		{fmt.Errorf("wrapped: %w", Usagef("bad")), 2, "provisiond: export: wrapped: bad\n"},
		{errors.New("boom"), 1, "provisiond: export: boom\n"},
		{&apiError{Status: 404, errorBody: errorBody{Error: "no group matches these facts (GET /api/v1/select explains why)"}}, 1,
			"provisiond: export: 404 Not Found: no group matches these facts (provisiond select explains why)\n"},
		{&apiError{Status: 409, errorBody: errorBody{Error: "pinned by machine n1: remove the pin (PUT /api/v1/machines/n1) to release it"}}, 1,
			"provisiond: export: 409 Conflict: pinned by machine n1: remove the pin (provisiond apply -f machines/n1.json) to release it\n"},
	}
	for _, tc := range tests {
		var stderr bytes.Buffer
		if code := Exit(&stderr, "export", tc.err); code != tc.code || stderr.String() != tc.line {
			t.Errorf("Exit(%v): %d %q, want %d %q", tc.err, code, stderr.String(), tc.code, tc.line)
		}
	}
}

func TestClosest(t *testing.T) {
	names := []string{"serve", "select", "get", "describe", "delete", "import-matchbox", "machines"}
	for in, want := range map[string]string{
		"serv": "serve", "selct": "select", "gte": "get", "describ": "describe", "machine": "machines",
		"import": "import-matchbox", "xyzzy": "", "": "",
	} {
		if got := closest(in, names); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/provisiond/provisiond", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "3abe607"}, {Key: "vcs.time", Value: "2026-12-01T03:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	want := "provisiond v1.2.3\nrevision: 3abe607 (2026-12-01T03:00:00Z), with uncommitted changes\nmodule:   github.com/provisiond/provisiond\ngo:       go1.26.8\n"
	if got := versionText("", bi); got != want {
		t.Errorf("with VCS info:\n%s\nwant:\n%s", got, want)
	}
	bi = &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/provisiond/provisiond", Version: "(devel)"}}
	if got := versionText("", bi); !strings.HasPrefix(got, "provisiond (devel)\nrevision: unknown (built without VCS information") {
		t.Errorf("without VCS info:\n%s", got)
	}
	if got := versionText("dev", bi); !strings.HasPrefix(got, "provisiond (devel)\n") {
		t.Errorf("-ldflags version dev:\n%s", got)
	}
	if got := versionText("v9", bi); !strings.HasPrefix(got, "provisiond v9\n") {
		t.Errorf("-ldflags version:\n%s", got)
	}
	if got := versionText("", nil); got != "provisiond unknown\nrevision: unknown (no build information in this binary)\n" {
		t.Errorf("no build info:\n%s", got)
	}
}

// TestBashCompletion sources the generated script in a real bash and
// completes words with it.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	p := &Program{Verbs: []Verb{{Name: "get", Run: Get}, {Name: "machines", Run: Machines}, {Name: "render", Run: Render}}}
	var script bytes.Buffer
	if code := p.Run([]string{"completion", "bash"}, &script, io.Discard); code != 0 {
		t.Fatalf("completion bash: exit %d", code)
	}
	tests := []struct {
		words []string // the command line, the last word being completed
		want  string
	}{
		{[]string{"provisiond", "ma"}, "machines"},
		{[]string{"provisiond", "--server", "http://x", "ge"}, "get"},
		{[]string{"provisiond", "get", "gr"}, "groups"},
		{[]string{"provisiond", "machines", "--wa"}, "--watch --watch-for"},
		{[]string{"provisiond", "render", "met"}, "metadata"},
		{[]string{"provisiond", "completion", "z"}, "zsh"},
		{[]string{"provisiond", "--ser"}, "--server"},
	}
	for _, tc := range tests {
		var words []string
		for _, w := range tc.words {
			words = append(words, fmt.Sprintf("%q", w))
		}
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script.String()+fmt.Sprintf(`
COMP_WORDS=(%s); COMP_CWORD=%d; _provisiond; echo "${COMPREPLY[*]}"`, strings.Join(words, " "), len(tc.words)-1))
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tc.want {
			t.Errorf("%q: %q %v, want %q", tc.words, out, err, tc.want)
		}
	}
	var zsh bytes.Buffer
	if code := p.Run([]string{"completion", "zsh"}, &zsh, io.Discard); code != 0 || !strings.HasPrefix(zsh.String(), "#compdef provisiond\n") {
		t.Errorf("completion zsh: exit %d\n%s", code, zsh.String())
	}
	var stderr bytes.Buffer
	if code := p.Run([]string{"completion", "fish"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), `unknown shell "fish"`) {
		t.Errorf("completion fish: exit %d %s", code, stderr.String())
	}
}
