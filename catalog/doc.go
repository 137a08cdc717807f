// Package catalog is the set of objects provisiond serves from: profiles,
// groups, templates, IP pools and registered machines. It loads a
// matchbox-layout directory, validates the whole set (every cross
// reference, identical selectors, overlapping pools, colliding pins) and
// compiles it into an immutable Snapshot that the boot path reads without
// locks or storage access.
//
// The same validation runs for a directory at start-up and on SIGHUP, and
// for every write through the admin API, so a catalog that provisiond
// accepted once is always whole. Validation errors are typed
// (invalid.FieldError with the field's path, invalid.ConflictError naming
// both objects, wrapping ErrInvalid), so that transports map them without
// reading their messages.
//
// A Snapshot renders: Resolve matches a request's labels, Input assembles
// the template data, and BootScript (with a Layout), Config and
// MetadataEnv render it. Package resolve strings these together with the
// lease; transports call resolve, not these one by one. The snapshot owns
// its caches (renderings, members lists, .ip data), which die with it;
// their counters are exported by metrics.go.
package catalog
