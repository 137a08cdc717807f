package catalog

import (
	"iter"
	"maps"
	"slices"
	"strings"
)

// Sources records where each object of a catalog came from: its
// reference ("groups/node1", "ignition/worker.yaml") to a file path, for
// error messages and for writing a change back into the file the object
// was read from. Objects with no entry are named by their reference. The
// zero value is empty and ready to use. A Sources copied by value is not
// a copy of its own: Clone the catalog to change one independently.
//
// Groups read from their usual file, DIR/groups/<id>.json, are not one
// entry each but the sorted ids of one load, whose paths are derived
// when asked for: at 100,000 groups a map of references to paths was
// 11 MB of live heap beside the catalog, and the garbage collector lets
// the heap grow by what is live.
type Sources struct {
	files map[string]string
	// groupDir is the prefix of the usual group files (".../groups/"),
	// ids the sorted ids of the groups read from them (shared by clones,
	// never modified), gone those of ids deleted since.
	groupDir string
	ids      []string
	gone     map[string]struct{}
}

// Get returns the file ref came from.
func (s *Sources) Get(ref string) (string, bool) {
	if p, ok := s.files[ref]; ok {
		return p, true
	}
	if id, ok := strings.CutPrefix(ref, "groups/"); ok && s.usual(id) {
		return s.groupDir + id + ".json", true
	}
	return "", false
}

// usual reports whether group id was read from its usual file and not
// deleted since.
func (s *Sources) usual(id string) bool {
	if len(s.ids) == 0 {
		return false
	}
	if _, ok := slices.BinarySearch(s.ids, id); !ok {
		return false
	}
	_, gone := s.gone[id]
	return !gone
}

// Set records that ref came from path.
func (s *Sources) Set(ref, path string) {
	if s.files == nil {
		s.files = map[string]string{}
	}
	s.files[ref] = path
}

// Delete forgets where ref came from (it was replaced or deleted).
func (s *Sources) Delete(ref string) {
	delete(s.files, ref)
	if id, ok := strings.CutPrefix(ref, "groups/"); ok && s.usual(id) {
		if s.gone == nil {
			s.gone = map[string]struct{}{}
		}
		s.gone[id] = struct{}{}
	}
}

// Named returns the entries other than the groups read from their usual
// file, whose file filePath gives them by default: what WriteBack needs
// to write an object back where it was read from.
func (s *Sources) Named() iter.Seq2[string, string] {
	return maps.All(s.files)
}

// setUsualGroups records that the groups ids were read from
// groupDir+id+".json". ids is kept (sorted in place when it is not).
func (s *Sources) setUsualGroups(groupDir string, ids []string) {
	if !slices.IsSorted(ids) {
		slices.Sort(ids)
	}
	s.groupDir, s.ids, s.gone = groupDir, ids, nil
}

// clone returns a copy whose entries can be changed without touching s.
func (s *Sources) clone() Sources {
	n := Sources{groupDir: s.groupDir, ids: s.ids}
	if len(s.files) > 0 {
		n.files = maps.Clone(s.files)
	}
	if len(s.gone) > 0 {
		n.gone = maps.Clone(s.gone)
	}
	return n
}

// With returns s with from's named entries (Named) for the references s
// has no file for; s and from are unchanged.
func (s *Sources) With(from *Sources) Sources {
	n := s.clone()
	for ref, p := range from.Named() {
		if _, ok := n.Get(ref); !ok {
			n.Set(ref, p)
		}
	}
	return n
}
