package rpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/poseidon/matchbox/matchbox/storage/storagepb"

	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/profiles"
)

// toGroup converts a matchbox group to provisiond's, normalized (selector
// keys lowercased, mac and uuid values canonical) for the index, keeping
// the selector as written in Written when it differs, so that GroupGet
// returns it as it came.
func toGroup(pb *storagepb.Group) (*groups.Group, error) {
	if pb == nil {
		return nil, fmt.Errorf("%w: group is required", errBadRequest)
	}
	if err := checkName("group id", pb.Id); err != nil {
		return nil, err
	}
	g := &groups.Group{ID: pb.Id, Name: pb.Name, Profile: pb.Profile, Selector: groups.SelectorOf(pb.Selector)}
	if len(bytes.TrimSpace(pb.Metadata)) > 0 {
		if err := json.Unmarshal(pb.Metadata, &g.Metadata); err != nil {
			return nil, fmt.Errorf("%w: group %q: metadata is not a JSON object: %v", errBadRequest, pb.Id, err)
		}
	}
	if g.Selector == nil {
		g.Selector = groups.Selector{}
	}
	if err := g.Normalize(); err != nil {
		return nil, err
	}
	if !maps.Equal(g.Selector.Map(), pb.Selector) && len(pb.Selector) > 0 {
		g.Written = groups.SelectorOf(pb.Selector)
	}
	return g, nil
}

// fromGroup converts back: the selector as written, metadata as JSON.
func fromGroup(g *groups.Group) (*storagepb.Group, error) {
	pb := &storagepb.Group{Id: g.ID, Name: g.Name, Profile: g.Profile, Selector: g.Selector.Map()}
	if g.Written != nil {
		pb.Selector = g.Written.Map()
	}
	if g.Metadata.Len() > 0 {
		b, err := json.Marshal(g.Metadata)
		if err != nil {
			return nil, fmt.Errorf("group %q: metadata: %w", g.ID, err)
		}
		pb.Metadata = b
	}
	return pb, nil
}

func toProfile(pb *storagepb.Profile) (*profiles.Profile, error) {
	if pb == nil {
		return nil, fmt.Errorf("%w: profile is required", errBadRequest)
	}
	if err := checkName("profile id", pb.Id); err != nil {
		return nil, err
	}
	p := &profiles.Profile{ID: pb.Id, Name: pb.Name, IgnitionID: pb.IgnitionId, CloudID: pb.CloudId, GenericID: pb.GenericId}
	for _, ref := range []struct{ field, name string }{{"ignition_id", p.IgnitionID}, {"cloud_id", p.CloudID}, {"generic_id", p.GenericID}} {
		if ref.name != "" {
			if err := checkName("profile "+pb.Id+": "+ref.field, ref.name); err != nil {
				return nil, err
			}
		}
	}
	if pb.Boot != nil {
		p.Boot = profiles.Boot{Kernel: pb.Boot.Kernel, Initrd: clone(pb.Boot.Initrd), Args: clone(pb.Boot.Args)}
	}
	return p, nil
}

// fromProfile always sets Boot: the provider reads profile.Boot.Kernel
// without a nil check.
func fromProfile(p *profiles.Profile) *storagepb.Profile {
	return &storagepb.Profile{
		Id: p.ID, Name: p.Name, IgnitionId: p.IgnitionID, CloudId: p.CloudID, GenericId: p.GenericID,
		Boot: &storagepb.NetBoot{Kernel: p.Boot.Kernel, Initrd: clone(p.Boot.Initrd), Args: clone(p.Boot.Args)},
	}
}

func clone(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
