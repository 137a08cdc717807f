package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SyncMarkFile is the file, in a catalog directory kept by a replica on a
// shared store (etcd), that records which version of the stored catalog
// the directory holds: see SyncMark. It is the replica's own state, not
// part of the catalog; LoadDir never reads it (it is hidden, and not in a
// catalog subdirectory). Keep it out of version control.
const SyncMarkFile = ".provisiond-revision"

// SyncMark says that a catalog directory held, apart from edits made to
// its files since, the stored catalog at Revision of the store named by
// Origin. A replica stopped while others changed the store merges their
// changes into the directory from there (Merge3), rather than loading the
// directory over them.
type SyncMark struct {
	Origin   string `json:"origin"`
	Revision uint64 `json:"revision"`
	// Comment tells a reader of the file what it is.
	Comment string `json:"comment,omitempty"`
}

const syncMarkComment = "written by provisiond serve --catalog: the stored catalog revision this directory holds; delete it to load the directory over the store at the next start"

// ReadSyncMark returns dir's SyncMark; ok is false when it has none.
func ReadSyncMark(dir string) (m SyncMark, ok bool, err error) {
	path := filepath.Join(dir, SyncMarkFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return SyncMark{}, false, nil
	}
	if err != nil {
		return SyncMark{}, false, err
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Origin == "" || m.Revision == 0 {
		if err == nil {
			err = errors.New("no origin or revision")
		}
		return SyncMark{}, false, fmt.Errorf("%s: %v (delete it to load the directory over the store)", path, err)
	}
	return m, true, nil
}

// WriteSyncMark records m in dir, replacing the file atomically (synced,
// then renamed).
func WriteSyncMark(dir string, m SyncMark) error {
	m.Comment = syncMarkComment
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, SyncMarkFile), append(data, '\n'))
}
