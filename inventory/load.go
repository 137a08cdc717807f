package inventory

import "log/slog"

// NewRecorderFrom returns a recorder holding the machines that walk
// yields (a store's WalkMachines), built one machine at a time: a start
// never holds every stored machine decoded beside the records made of
// them (at 100,000 booted machines, 125 MB of decoded machines beside
// 84 MB of records). walk calls yield with each stored machine, whose
// memory is the recorder's from then on (each machine of its own: a
// walk never reuses a machine's slices for the next), and returns
// yield's error or its own, which NewRecorderFrom returns.
func NewRecorderFrom(s Saver, walk func(yield func(Machine) error) error, logger *slog.Logger) (*Recorder, error) {
	r := NewRecorder(s, nil, logger)
	// One interner for the whole walk: a group that several machines
	// name is kept once, as NewRecorder keeps it.
	in := interner{}
	err := walk(func(m Machine) error {
		rec := in.loaded(m)
		r.all[rec.m.Key] = rec
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}
