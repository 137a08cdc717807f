package profiles

import (
	"slices"

	"github.com/provisiond/provisiond/groups"
)

// Input is everything a rendering may depend on besides the template.
type Input struct {
	// Metadata and Selector come from the matched group.
	Metadata groups.Metadata
	Selector groups.Selector
	// Query is the request's labels (mac normalized); RawQuery is the query
	// string as sent.
	Query    map[string]string
	RawQuery string
	// ServerURL is the scheme and host the request reached, e.g.
	// http://10.0.2.2:8080.
	ServerURL string
	// Machine describes the machine: registered name and labels when it is
	// in the registry, its mac and uuid in any case.
	Machine MachineData
	// IP is the lease rendered as .ip (see ipam.Params.Map), nil when the
	// group has no pool.
	IP map[string]any
	// BootToken is .boot_token of the boot fields (see BootData): a token
	// the config endpoints accept for this machine, "" without boot
	// tokens.
	BootToken string
}

// MachineData is the .machine of template data.
type MachineData struct {
	Name   string
	MAC    string
	UUID   string
	Labels map[string]string
}

// ReservedKeys are the top-level keys provisiond sets in template data.
// They shadow group metadata keys of the same name; "ip" only does so when
// the group has a pool.
var ReservedKeys = []string{"request", "server", "machine", "ip"}

// Data builds the template data of COMPAT.md, later entries winning: group
// metadata; group selector keys; then request (query and raw_query) and
// provisiond's own server, machine and ip.
func Data(in Input) map[string]any {
	d := make(map[string]any, in.Metadata.Len()+len(in.Selector)+4)
	for k, v := range in.Metadata.All() {
		d[k] = v
	}
	for k, v := range in.Selector.All() {
		d[k] = v
	}
	d["request"] = requestData(in)
	d["server"] = serverData(in)
	d["machine"] = machineData(in)
	if in.IP != nil {
		d["ip"] = in.IP // a group without a pool keeps a metadata "ip" as it is
	}
	return d
}

func requestData(in Input) map[string]any {
	q := make(map[string]any, len(in.Query))
	for k, v := range in.Query {
		q[k] = v
	}
	return map[string]any{"query": q, "raw_query": in.RawQuery}
}

func serverData(in Input) map[string]any { return map[string]any{"url": in.ServerURL} }

func machineData(in Input) map[string]any {
	labels := make(map[string]any, len(in.Machine.Labels))
	for k, v := range in.Machine.Labels {
		labels[k] = v
	}
	return map[string]any{
		"name": in.Machine.Name, "mac": in.Machine.MAC, "uuid": in.Machine.UUID, "labels": labels,
	}
}

// DataFor is Data cut down to keys, the top-level keys a template reads
// (Template.Reads; all: the data whole, Data itself): each of them that
// Data sets, to the value Data gives it. The template renders from it as
// from Data (TestReadsRenderSame, FuzzReads), and a render builds a map
// of a few entries instead of one of every key of the group's metadata
// and selector and provisiond's own.
func DataFor(in Input, keys []string, all bool) map[string]any {
	if all {
		return Data(in)
	}
	d := make(map[string]any, len(keys))
	for _, k := range keys {
		if v, ok := dataValue(in, k); ok {
			d[k] = v
		}
	}
	return d
}

// dataValue is Data(in)[k], without building the rest.
func dataValue(in Input, k string) (any, bool) {
	switch k {
	case "request":
		return requestData(in), true
	case "server":
		return serverData(in), true
	case "machine":
		return machineData(in), true
	case "ip":
		if in.IP != nil {
			return in.IP, true
		}
	}
	if v, ok := in.Selector.Get(k); ok {
		return v, true
	}
	return in.Metadata.Get(k)
}

// BootDataFor is BootData cut down to keys, as DataFor.
func BootDataFor(in Input, keys []string, all bool) map[string]any {
	if all {
		return BootData(in)
	}
	d := make(map[string]any, len(keys))
	for _, k := range keys {
		if k == "boot_token" {
			d[k] = in.BootToken
		} else if v, ok := dataValue(in, k); ok {
			d[k] = v
		}
	}
	return d
}

// ReadsOf is the union of the templates' Reads (a nil template reads
// nothing).
func ReadsOf(ts ...*Template) (keys []string, all bool) {
	seen := map[string]bool{}
	for _, t := range ts {
		if t == nil {
			continue
		}
		ks, a := t.Reads()
		if a {
			return nil, true
		}
		for _, k := range ks {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys, false
}

// MetadataData is the data /metadata flattens: matchbox's (metadata,
// selectors, request) plus provisiond's machine and ip, without server,
// which says nothing about the machine.
func MetadataData(in Input) map[string]any {
	d := Data(in)
	delete(d, "server")
	return d
}

// BootData is the data of a profile's boot fields: Data plus boot_token,
// the token the config endpoints require when boot tokens are on ("" when
// they are off, so that a boot field naming it renders everywhere).
func BootData(in Input) map[string]any {
	d := Data(in)
	d["boot_token"] = in.BootToken
	return d
}
