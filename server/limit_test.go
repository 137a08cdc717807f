package server

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
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
