package inventory

// MAC returns the mac h was returned for ("" for a machine known by its
// uuid alone), for a caller that passes a handle's events on (the
// console's live events name the machine).
func (h *Handle) MAC() string { return h.mac }

// UUID returns the uuid h was returned for.
func (h *Handle) UUID() string { return h.uuid }
