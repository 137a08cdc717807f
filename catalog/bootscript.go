package catalog

import "github.com/provisiond/provisiond/profiles"

// BootScript renders the match's boot fields laid out by format (an iPXE
// script, a GRUB config), format being named by name. The laid-out bytes
// are cached like Boot's fields, so a cached /ipxe costs no rendering and
// no layout; they are shared and must not be modified.
func (s *Snapshot) BootScript(m *Match, in profiles.Input, name string, format func(profiles.Boot) []byte) ([]byte, error) {
	bt := s.boot[m.Profile.ID]
	key := s.cacheKey("script/"+name, m.Profile.ID, m, in, bt.usesMembers)
	if out, ok := s.envCache.get(key); ok {
		s.stats.Hits.Add(1)
		return out, nil
	}
	boot, err := s.Boot(m, in)
	if err != nil {
		return nil, err
	}
	out := format(boot)
	s.envCache.put(key, out)
	return out, nil
}
