package console

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sse reads server-sent events from a response in a goroutine.
type sse struct {
	events chan [2]string // event name, data
}

func readSSE(t *testing.T, resp *http.Response) *sse {
	t.Helper()
	s := &sse{events: make(chan [2]string, 1024)}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var name, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if name != "" {
					s.events <- [2]string{name, data}
				}
				name, data = "", ""
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

// next returns the next event, failing after a generous wait.
func (s *sse) next(t *testing.T) (string, string) {
	t.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			return "", ""
		}
		return e[0], e[1]
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
	}
	return "", ""
}

func openEvents(t *testing.T, r *rig, c *http.Client, query string) *sse {
	t.Helper()
	resp, err := c.Get(r.Admin.URL + "/console/events" + query)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream: %d %s", resp.StatusCode, body(t, resp))
	}
	t.Cleanup(func() { resp.Body.Close() }) // before the rig's servers close
	return readSSE(t, resp)
}

func waitSubscribers(t *testing.T, h *Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for h.Subscribers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers, want %d", h.Subscribers(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEventsStreamBoots(t *testing.T) {
	r := newRig(t, Config{LiveInterval: 20 * time.Millisecond})
	c := loggedIn(t, r)
	all := openEvents(t, r, c, "")
	one := openEvents(t, r, c, "?mac=52-54-00-AA-00-01")
	waitSubscribers(t, r.Hub, 2)
	r.bootFleet(t)

	var got []liveEvent
	for len(got) < 6 {
		name, data := all.next(t)
		if name != "boot" {
			t.Fatalf("event %q %q", name, data)
		}
		var e liveEvent
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	first, last := got[0], got[5]
	if first.MAC != node1MAC || first.Endpoint != "/ipxe" || first.Status != 200 || first.Group != "services" || first.Href != "/console/machines/"+node1MAC {
		t.Errorf("first event %+v", first)
	}
	if last.MAC != strangerM || last.Status != 404 || last.Group != "" {
		t.Errorf("last event %+v", last)
	}
	for _, want := range []string{"/ipxe", "/ignition"} {
		name, data := one.next(t)
		if name != "boot" || !strings.Contains(data, `"mac":"52:54:00:aa:00:01"`) || !strings.Contains(data, `"endpoint":"`+want+`"`) {
			t.Errorf("the worker's stream: %q %s, want %s", name, data, want)
		}
	}
	// Bad filters are refused.
	resp, err := c.Get(r.Admin.URL + "/console/events?mac=zz")
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("?mac=zz: %d", resp.StatusCode)
	}
}

// TestEventsStreamBoundsWhatItSends: a burst larger than LiveBatch is
// sent as the newest LiveBatch events and a count of the rest.
func TestEventsStreamBoundsWhatItSends(t *testing.T) {
	r := newRig(t, Config{LiveInterval: 200 * time.Millisecond, LiveBatch: 3})
	c := loggedIn(t, r)
	s := openEvents(t, r, c, "")
	waitSubscribers(t, r.Hub, 1)
	const n = 40
	for i := range n {
		r.Hub.Publish(Event{Time: time.Now().UTC(), MAC: "52:54:00:00:00:01", Endpoint: "/ipxe", Status: 200 + i})
	}
	boots, skipped, last := 0, 0, 0
	for boots+skipped < n {
		name, data := s.next(t)
		switch name {
		case "boot":
			boots++
			var e liveEvent
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				t.Fatal(err)
			}
			if e.Status <= last {
				t.Errorf("event %d after %d: out of order", e.Status, last)
			}
			last = e.Status
		case "skipped":
			k, err := strconv.Atoi(data)
			if err != nil {
				t.Fatal(err)
			}
			skipped += k
		default:
			t.Fatalf("event %q", name)
		}
	}
	if boots+skipped != n || skipped == 0 {
		t.Errorf("%d sent and %d skipped, want %d in all and some skipped", boots, skipped, n)
	}
}

func TestEventsStreamEndsAtLogout(t *testing.T) {
	r := newRig(t, Config{LiveInterval: 20 * time.Millisecond})
	c := loggedIn(t, r)
	s := openEvents(t, r, c, "")
	waitSubscribers(t, r.Hub, 1)
	_, html := get(t, r, c, "/console/machines")
	resp, err := c.PostForm(r.Admin.URL+"/console/logout", url.Values{"csrf": {hidden(t, html, "csrf")}})
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if name, _ := s.next(t); name != "expired" {
		t.Errorf("after logout the stream sent %q, want expired", name)
	}
	if name, _ := s.next(t); name != "" {
		t.Errorf("the stream goes on: %q", name)
	}
	waitSubscribers(t, r.Hub, 0)
}

func TestCloseEndsEventStreams(t *testing.T) {
	r := newRig(t, Config{LiveInterval: 20 * time.Millisecond})
	c := loggedIn(t, r)
	s := openEvents(t, r, c, "")
	waitSubscribers(t, r.Hub, 1)
	r.Console.Close()
	if name, _ := s.next(t); name != "" {
		t.Errorf("after Close the stream sent %q", name)
	}
	waitSubscribers(t, r.Hub, 0)
	if _, html := get(t, r, c, "/console/machines"); !strings.Contains(html, "node1") {
		t.Error("pages are not served after Close")
	}
}
