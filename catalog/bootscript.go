package catalog

import "github.com/provisiond/provisiond/profiles"

// Layout lays out a profile's rendered boot fields as one boot script. Its
// Name keys the laid-out bytes in the snapshot's cache: two layouts must
// have two names.
type Layout struct {
	Name   string
	Format func(profiles.Boot) []byte
}

// The layouts of the boot endpoints.
var (
	// LayoutIPXE is /ipxe's: an iPXE script.
	LayoutIPXE = Layout{Name: "ipxe", Format: profiles.IPXEScript}
	// LayoutGRUB is /grub's: a GRUB config.
	LayoutGRUB = Layout{Name: "grub", Format: profiles.GRUBConfig}
)

// BootScript renders the match's boot fields laid out by l. The laid-out
// bytes are cached like Boot's fields, so a cached /ipxe costs no
// rendering and no layout; they are shared and must not be modified.
func (s *Snapshot) BootScript(m *Match, in profiles.Input, l Layout) ([]byte, error) {
	bt := s.boot[m.Profile.ID]
	var kb [keyBuf]byte
	key := append(kb[:0], "script/"...)
	key = s.cacheKey(key, l.Name, m.Profile.ID, m, in, bt.usesMembers)
	if out, ok := s.envCache.get(key); ok {
		s.stats.Hits.Add(1)
		return out, nil
	}
	boot, err := s.Boot(m, in)
	if err != nil {
		return nil, err
	}
	out := l.Format(boot)
	s.envCache.put(string(key), out)
	return out, nil
}
