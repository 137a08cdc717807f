package profiles

import "testing"

func TestEnvFile(t *testing.T) {
	data := map[string]any{
		"etcd_name":  "node1",
		"count":      float64(3),
		"ok":         true,
		"nothing":    nil,
		"dns":        []any{"10.0.0.1", "10.0.0.2"},
		"nested":     map[string]any{"inner": map[string]any{"x": "y"}},
		"request":    map[string]any{"query": map[string]string{"mac": "52:54:00:89:d8:10"}, "raw_query": "mac=52-54-00-89-d8-10"},
		"evil":       "a\nINJECTED=1",
		"bad key\nX": "v",
		"dash-key":   "d",
	}
	want := "BAD_KEY_X=v\n" +
		"COUNT=3\n" +
		"DASH_KEY=d\n" +
		"DNS=10.0.0.1,10.0.0.2\n" +
		"ETCD_NAME=node1\n" +
		"EVIL=a\\nINJECTED=1\n" +
		"NESTED_INNER_X=y\n" +
		"NOTHING=\n" +
		"OK=true\n" +
		"REQUEST_QUERY_MAC=52:54:00:89:d8:10\n" +
		"REQUEST_RAW_QUERY=mac=52-54-00-89-d8-10\n"
	if got := string(EnvFile(data)); got != want {
		t.Errorf("EnvFile:\n%s\nwant:\n%s", got, want)
	}
}
