// Package profiles holds the Profile type and every renderer provisiond
// serves: iPXE scripts and GRUB configs from a profile's boot fields,
// Butane templates translated to Ignition, raw Ignition, cloud-config,
// generic text, and the env-file form of /metadata.
//
// Rendering is a pure function of a compiled template and its data; the
// package never reads storage or the network. Templates run with
// missingkey=error, so a typo in a key fails the render instead of
// producing an empty value.
package profiles
