package profiles

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowMembers is a members function that takes d: a render calling it
// takes as long as the test wants.
func slowMembers(d time.Duration) MembersFunc {
	return func(string) ([]Member, error) {
		time.Sleep(d)
		return nil, nil
	}
}

// heldMembers is a members function that returns once release is closed:
// a render calling it outlasts any timeout, however late the timer fires
// on a busy machine.
func heldMembers(release <-chan struct{}) MembersFunc {
	return func(string) ([]Member, error) {
		<-release
		return nil, nil
	}
}

func TestExecuteTimeout(t *testing.T) {
	fast, err := Compile("fast", "hello {{.name}}", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := fast.ExecuteTimeout(map[string]any{"name": "x"}, 0, time.Second)
	if err != nil || string(out) != "hello x" {
		t.Fatalf("fast render: %q %v", out, err)
	}
	release := make(chan struct{})
	slow, err := Compile("slow", `{{range members "role=x"}}{{end}}done`, heldMembers(release))
	if err != nil {
		t.Fatal(err)
	}
	// The render cannot end before release: the answer comes from the
	// timeout, without waiting for the render.
	_, err = slow.ExecuteTimeout(nil, 0, 50*time.Millisecond)
	if !errors.Is(err, ErrRenderTimeout) || !strings.Contains(err.Error(), "template slow took longer than 50ms") {
		close(release)
		t.Fatalf("slow render: %v, want ErrRenderTimeout naming the template and the limit", err)
	}
	if n := AbandonedRenders(); n != 1 {
		t.Errorf("abandoned renders = %d, want 1", n)
	}
	close(release)
	waitAbandoned(t, 0)
	// Without a limit, the same render (taking 300ms, six times the limit
	// above) finishes.
	slow, err = Compile("slow", `{{range members "role=x"}}{{end}}done`, slowMembers(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := slow.ExecuteTimeout(nil, 0, -1); err != nil || string(out) != "done" {
		t.Errorf("no limit: %q %v", out, err)
	}
}

// TestExecuteTimeoutBounded abandons more renders than MaxAbandonedRenders:
// the ones beyond are refused with ErrRenderBusy at once instead of
// starting yet another goroutine, and renders work again once the
// abandoned ones ended.
func TestExecuteTimeoutBounded(t *testing.T) {
	release := make(chan struct{})
	slow, err := Compile("slow", `{{range members "role=x"}}{{end}}`, heldMembers(release))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < MaxAbandonedRenders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slow.ExecuteTimeout(nil, 0, 10*time.Millisecond)
		}()
	}
	wg.Wait()
	_, err = slow.ExecuteTimeout(nil, 0, 10*time.Millisecond)
	if !errors.Is(err, ErrRenderBusy) {
		t.Errorf("render beyond the bound: %v, want ErrRenderBusy", err)
	}
	close(release)
	waitAbandoned(t, 0)
	fast, _ := Compile("fast", "ok", nil)
	if out, err := fast.ExecuteTimeout(nil, 0, time.Second); err != nil || string(out) != "ok" {
		t.Errorf("after the abandoned renders ended: %q %v", out, err)
	}
}

// TestAbandonedRenderStopsWriting: a render that keeps writing stops at its
// next write once abandoned.
func TestAbandonedRenderStopsWriting(t *testing.T) {
	data := map[string]any{"list": make([]int, 200)}
	// 200^3 = 8e6 writes: seconds of work, stopped at the first write after
	// the timeout.
	tp, err := Compile("writer", `{{range .list}}{{range $.list}}{{range $.list}}x{{end}}{{end}}{{end}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tp.ExecuteTimeout(data, 1<<30, 20*time.Millisecond)
	if !errors.Is(err, ErrRenderTimeout) {
		t.Fatalf("%v, want ErrRenderTimeout", err)
	}
	waitAbandoned(t, 0)
}

func waitAbandoned(t *testing.T, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for AbandonedRenders() != want {
		if time.Now().After(deadline) {
			t.Fatalf("abandoned renders = %d, want %d", AbandonedRenders(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRangeLiteralLimit(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		ok         bool
	}{
		{"small", `{{range 10}}x{{end}}`, true},
		{"at the limit", `{{range 1000}}{{range 1000}}{{end}}{{end}}`, true},
		{"huge", `{{range 100000000000}}{{end}}`, false},
		{"nested", `{{range 10000}}{{range 10000}}{{end}}{{end}}`, false},
		{"in if", `{{if .x}}{{range $i := 2000000}}{{end}}{{end}}`, false},
		{"in define", `{{define "a"}}{{range 5000000}}{{end}}{{end}}{{template "a"}}`, false},
		{"over data", `{{range .list}}{{end}}`, true},
		{"recursive", `{{define "a"}}x{{template "a"}}{{end}}{{template "a"}}`, false},
		{"mutually recursive", `{{define "a"}}{{if .}}{{template "b" .}}{{end}}{{end}}{{define "b"}}{{range .}}{{template "a" .}}{{end}}{{end}}{{template "a" .}}`, false},
		{"calls without a cycle", `{{define "a"}}{{template "b"}}{{template "b"}}{{end}}{{define "b"}}x{{end}}{{template "a"}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.name, tc.text, nil)
			if (err == nil) != tc.ok {
				t.Errorf("Compile(%q): %v", tc.text, err)
			}
		})
	}
}

// TestLoopFreeRendersInline: a template without a range or a template
// call runs on the caller's goroutine (its time is bounded by its size and
// data; the template functions are bounded too), so it costs what Execute
// costs, and the timeout does not apply.
func TestLoopFreeRendersInline(t *testing.T) {
	for text, want := range map[string]bool{
		`hello {{.name}}`:                 false,
		`{{if .x}}{{join .l ","}}{{end}}`: false,
		`{{range .l}}{{end}}`:             true,
		`{{with .x}}{{template "a"}}{{end}}{{define "a"}}{{end}}`: true,
		`{{define "a"}}{{range .}}{{end}}{{end}}`:                 true,
	} {
		tp, err := Compile("t", text, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tp.mayLoop != want {
			t.Errorf("%s: mayLoop = %v, want %v", text, tp.mayLoop, want)
		}
	}
	inline, _ := Compile("inline", `{{members "role=x"}}`, slowMembers(100*time.Millisecond))
	if _, err := inline.ExecuteTimeout(nil, 0, 10*time.Millisecond); err != nil {
		t.Errorf("a loop-free template was timed out: %v", err)
	}
}

func TestRunTimeout(t *testing.T) {
	v, err := RunTimeout("quick", time.Second, func() (int, error) { return 7, nil })
	if v != 7 || err != nil {
		t.Fatalf("quick: %d %v", v, err)
	}
	release := make(chan struct{})
	_, err = RunTimeout("slow thing", 10*time.Millisecond, func() (int, error) {
		<-release // outlasts the timeout, however late it fires
		return 1, nil
	})
	if !errors.Is(err, ErrRenderTimeout) || !strings.Contains(err.Error(), "slow thing took longer than 10ms") {
		close(release)
		t.Fatalf("slow: %v", err)
	}
	if n := AbandonedRenders(); n != 1 {
		t.Errorf("abandoned = %d, want 1", n)
	}
	close(release)
	waitAbandoned(t, 0)
}
