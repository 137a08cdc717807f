// Package groups holds the Group type, the labels a boot request carries
// (with MAC, the one type a mac travels as once FromQuery or NewMAC has
// parsed it), and the in-memory index that picks the most specific group
// for a request.
//
// Matching follows matchbox: a group matches when every selector key/value
// equals the request's label of the same key; a group without a selector is
// a default and matches everything; the group with the most selectors wins,
// and ties are broken by comparing the sorted "k=v,k=v" selector strings,
// greatest first. Unlike matchbox, two groups with identical selectors are
// refused when the index is built, because matchbox picks one at random.
package groups
