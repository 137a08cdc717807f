package storage_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/provisiond/provisiond/ipam"
	"github.com/provisiond/provisiond/storage"
	"github.com/provisiond/provisiond/storage/bolt"
)

// TestTimedMetrics: a store wrapped in Timed, observed by Metrics, counts
// each operation under its name, failures included.
func TestTimedMetrics(t *testing.T) {
	s, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reg := prometheus.NewRegistry()
	timed := &storage.Timed{Store: s, Observe: storage.NewMetrics(reg).Observe}
	p, err := ipam.Decode([]byte(`{"name": "lab", "cidr": "10.9.0.0/24", "start": "10.9.0.10", "end": "10.9.0.10"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := timed.Allocate(t.Context(), p, "52:54:00:00:00:01"); err != nil {
		t.Fatal(err)
	}
	if _, err := timed.Allocate(t.Context(), p, "52:54:00:00:00:02"); err == nil {
		t.Fatal("a full pool allocated")
	}
	if _, err := timed.Leases(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "provisiond_store_operation_duration_seconds"); n != 2 {
		t.Errorf("%d series, want allocate and leases", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
		}
	}
	if got["allocate"] != 2 || got["leases"] != 1 {
		t.Errorf("observations %v, want allocate 2 and leases 1", got)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
