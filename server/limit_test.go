package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/provisiond/provisiond/profiles"
)

// TestInflightPerClient blocks requests in a handler: the client address
// gets MaxInflightPerClient of them in flight and a 429 with Retry-After
// beyond, while health checks and another client address are still
// served; once the blocked requests finish, the client is served again.
func TestInflightPerClient(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	blocking := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})
	s := New(Config{Assets: blocking, MaxInflightPerClient: 3})
	hs := httptest.NewServer(s)
	defer hs.Close()

	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(hs.URL + "/assets/big")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	}
	for i := 0; i < 3; i++ {
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
			t.Fatal("blocked requests did not arrive")
		}
	}
	resp, err := http.Get(hs.URL + "/assets/big")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("fourth request: %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := testutil.ToFloat64(s.metrics.throttled); got != 1 {
		t.Errorf("throttled_total = %v, want 1", got)
	}
	for _, p := range []string{"/healthz", "/metrics"} {
		if code := httpRecorder(s, p); code != 200 {
			t.Errorf("%s while throttled: %d", p, code)
		}
	}
	// Another address is its own client (httptest's recorder comes from
	// 192.0.2.1).
	if code := httpRecorder(s, "/boot.ipxe"); code != 200 {
		t.Errorf("another client: %d", code)
	}
	close(release)
	wg.Wait()
	resp, err = http.Get(hs.URL + "/boot.ipxe")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after the blocked requests finished: %d", resp.StatusCode)
	}
}

func TestInflightRelease(t *testing.T) {
	l := &inflight{max: 2, n: map[string]int{}}
	if !l.acquire("a") || !l.acquire("a") || l.acquire("a") || !l.acquire("b") {
		t.Fatal("acquire does not count per address")
	}
	l.release("a")
	l.release("a")
	l.release("b")
	if len(l.n) != 0 {
		t.Errorf("addresses kept after release: %v", l.n)
	}
}

// TestMaxLabels: a boot request with more distinct query parameters than
// MaxLabels is 400; repeated keys count once; the default is
// groups.MaxLabels.
func TestMaxLabels(t *testing.T) {
	e := newEnv(t, testCatalog, func(c *Config) { c.MaxLabels = 4 })
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"mac=52:54:00:00:00:01&role=worker&a=1", 200},
		{"mac=52:54:00:00:00:01&role=worker&a=1&b=2", 200},
		{"mac=52:54:00:00:00:01&role=worker&a=1&b=2&c=3", 400},
		{"mac=52:54:00:00:00:01&role=worker&a=1&a=2&a=3&a=4", 200},
	} {
		if code, body, _ := e.get("/ipxe?" + tc.query); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.query, code, body, tc.want)
		}
	}
	d := newEnv(t, testCatalog)
	if code, _, _ := d.get("/ipxe?mac=52:54:00:00:00:01&role=worker&a=1&b=2&c=3"); code != 200 {
		t.Errorf("default: %d", code)
	}
	if code, _, _ := d.get("/ipxe?mac=52:54:00:00:00:01" + strings.Repeat("&k=v", 100) + manyKeys(64)); code != 400 {
		t.Errorf("default, 65 keys: %d, want 400", code)
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "&k%d=v", i)
	}
	return b.String()
}

// TestRenderLimitStatuses: a render over its time or output limit is our
// fault (500, cause logged); too many abandoned renders is 503 (try again).
func TestRenderLimitStatuses(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("generic/x: %w", profiles.ErrRenderTimeout), http.StatusInternalServerError},
		{fmt.Errorf("generic/x: %w", profiles.ErrOutputTooLarge), http.StatusInternalServerError},
		{fmt.Errorf("generic/x: %w", profiles.ErrRenderBusy), http.StatusServiceUnavailable},
	} {
		if got := toHTTP(tc.err).Code; got != tc.want {
			t.Errorf("%v: %d, want %d", tc.err, got, tc.want)
		}
	}
}
