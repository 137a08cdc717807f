// Package catalog is the set of objects provisiond serves from: profiles,
// groups, templates, IP pools and registered machines. It loads a
// matchbox-layout directory, validates the whole set (every cross
// reference, identical selectors, overlapping pools, colliding pins) and
// compiles it into an immutable Snapshot that the boot path reads without
// locks or storage access.
//
// The same validation runs for a directory at start-up and on SIGHUP, and
// for every write through the admin API, so a catalog that provisiond
// accepted once is always whole.
package catalog
