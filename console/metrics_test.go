package console

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestHubMetrics(t *testing.T) {
	h := NewHub(1, 4)
	reg := prometheus.NewRegistry()
	if err := h.Register(reg); err != nil {
		t.Fatal(err)
	}
	s, _ := h.Subscribe("", "")
	h.Publish(Event{})
	h.Publish(Event{}) // the queue holds one: dropped
	h.Publish(Event{})
	want := `# HELP provisiond_console_events_dropped_total Boot events dropped for live console views that read too slowly.
# TYPE provisiond_console_events_dropped_total counter
provisiond_console_events_dropped_total 2
# HELP provisiond_console_subscribers Live console views attached to the boot event hub.
# TYPE provisiond_console_subscribers gauge
provisiond_console_subscribers 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	s.Close() // what it dropped is still counted
	if h.Dropped() != 2 || h.Subscribers() != 0 {
		t.Errorf("after Close: %d dropped, %d subscribers", h.Dropped(), h.Subscribers())
	}
}
