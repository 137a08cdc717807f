package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/inventory"
)

// TestDescribeRepeats: an event that counts repeats says how many
// requests it stands for and when the last came; the others say nothing
// of it.
func TestDescribeRepeats(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	m := &machineView{MAC: "52:54:00:00:00:01", State: inventory.Booting, Events: []inventory.Event{
		{Time: t0, Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: "10.0.0.1:4000", Status: 200, State: inventory.Booting},
		{Time: t0.Add(time.Minute), Endpoint: "/ipxe", Group: "g", Profile: "p", Remote: "10.0.0.1:4077", Status: 200, Repeats: 41, Last: t0.Add(21 * time.Minute)},
	}}
	var b strings.Builder
	printMachine(&b, m, nil)
	out := b.String()
	lines := strings.Split(out, "\n")
	var rows []string
	for _, l := range lines {
		if strings.HasPrefix(l, "  2026-") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2 || !strings.HasSuffix(rows[0], "-> booting") || !strings.HasSuffix(rows[1], "10.0.0.1:4077  ×42, last at 2026-12-01T08:21:00Z") ||
		!strings.HasPrefix(rows[1], "  2026-12-01T08:01:00Z  /ipxe") {
		t.Errorf("events:\n%s", out)
	}
}
