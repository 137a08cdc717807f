// Package matchbox converts a matchbox data directory (profiles/, groups/,
// ignition/, cloud/, generic/) into a provisiond catalog, leniently, and
// says what it changed: ids filled from file names, selector keys
// lowercased, macs normalized, unknown fields dropped, old cmdline maps
// turned into args.
//
// What it cannot convert it leaves out and reports. A group left out is
// the one case that can change what a machine boots: its machines fall to
// the next group that matches them. Import computes, for every group left
// out, the group its machines would fall to, and Result.Check refuses the
// conversion when there is one, so that no machine moves silently.
//
// `provisiond import-matchbox` is the command that uses it.
package matchbox
