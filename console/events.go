package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/inventory"
)

// liveEvent is one boot event as the pages and the event stream show it.
type liveEvent struct {
	Time     time.Time `json:"time"`
	Key      string    `json:"key"`
	MAC      string    `json:"mac,omitempty"`
	UUID     string    `json:"uuid,omitempty"`
	Endpoint string    `json:"endpoint"`
	Group    string    `json:"group,omitempty"`
	Profile  string    `json:"profile,omitempty"`
	Remote   string    `json:"remote,omitempty"`
	Status   int       `json:"status"`
	// Repeats and Last are the inventory's (inventory.Event): the same
	// request came Repeats more times, the last at Last. An event of the
	// stream is one request, with none.
	Repeats int       `json:"repeats,omitempty"`
	Last    time.Time `json:"last,omitzero"`
	// Clock is Time as the pages print it; Href the machine's page.
	Clock string `json:"clock"`
	Href  string `json:"href"`
}

// heartbeat is how often an idle stream sends a comment, so proxies and
// the browser know it is alive.
const heartbeat = 15 * time.Second

// writeTimeout bounds one write to a live view: a browser that stopped
// reading is dropped, never waited for.
const writeTimeout = 10 * time.Second

// events streams boot events as server-sent events: "boot" events (JSON
// liveEvent), "skipped" (how many events were not sent, because the view
// fell behind or more came in one interval than LiveBatch) and "expired"
// when the session ends. ?mac= or ?uuid= limits it to one machine.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Hub == nil {
		c.errorPage(w, r, http.StatusNotFound, "Live activity is not enabled on this server.")
		return
	}
	q := r.URL.Query()
	var mac, uuid string
	var err error
	if v := q.Get("mac"); v != "" {
		if mac, err = groups.ParseMAC(v); err != nil {
			http.Error(w, "mac: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	if v := q.Get("uuid"); v != "" {
		if uuid, err = groups.ParseUUID(v); err != nil {
			http.Error(w, "uuid: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	sub, err := c.cfg.Hub.Subscribe(mac, uuid)
	if errors.Is(err, ErrTooManySubscribers) {
		http.Error(w, "too many live views are open; close one and reload", http.StatusServiceUnavailable)
		return
	}
	defer sub.Close()
	ses := sessionFrom(r.Context())
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	buf := make([]byte, 0, 4096)
	batch := make([]Event, 0, c.cfg.LiveBatch) // a ring once full
	send := func(b []byte) bool {
		rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send([]byte("retry: 3000\n: live\n\n")) {
		return
	}
	tick := time.NewTicker(c.cfg.LiveInterval)
	defer tick.Stop()
	lastWrite := time.Now()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.closed:
			return
		case <-tick.C:
		}
		if ses.id != "" && !c.sessions.alive(ses.id) {
			send([]byte("event: expired\ndata: signed out\n\n"))
			return
		}
		// Take what is queued now; keep the newest LiveBatch, in a ring.
		taken := 0
		skipped := sub.TakeDropped()
	drain:
		for range cap(sub.c) {
			select {
			case e := <-sub.C():
				if taken < cap(batch) {
					batch = append(batch, e)
				} else {
					batch[taken%cap(batch)] = e
					skipped++
				}
				taken++
			default:
				break drain
			}
		}
		buf = buf[:0]
		start := 0
		if taken > cap(batch) {
			start = taken % cap(batch) // the oldest kept
		}
		for i := range batch {
			buf = appendEvent(buf, &batch[(start+i)%len(batch)], c.cfg.Prefix)
		}
		batch = batch[:0]
		if skipped > 0 {
			buf = fmt.Appendf(buf, "event: skipped\ndata: %d\n\n", skipped)
		}
		if len(buf) == 0 && time.Since(lastWrite) >= heartbeat {
			buf = append(buf, ": ping\n\n"...)
		}
		if len(buf) == 0 {
			continue
		}
		if !send(buf) {
			return
		}
		lastWrite = time.Now()
	}
}

// appendEvent appends e as a "boot" server-sent event.
func appendEvent(b []byte, e *Event, prefix string) []byte {
	le := toLive(e, prefix)
	data, _ := json.Marshal(le) // plain strings and numbers: cannot fail
	b = append(b, "event: boot\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

func toLive(e *Event, prefix string) liveEvent {
	key := inventory.Key(e.MAC, e.UUID)
	return liveEvent{Href: prefix + "/machines/" + url.PathEscape(key), Time: e.Time, Key: key, MAC: e.MAC, UUID: e.UUID, Endpoint: e.Endpoint,
		Group: e.Group, Profile: e.Profile, Remote: e.Remote, Status: e.Status, Clock: e.Time.UTC().Format("15:04:05")}
}
