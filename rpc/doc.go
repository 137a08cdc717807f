// Package rpc serves matchbox v0.11.0's gRPC API (package rpcpb, messages
// from serverpb and storagepb, reused from matchbox's own generated Go
// packages so the wire format is matchbox's) over mutual TLS, the API that
// terraform-provider-matchbox and Typhoon's bare-metal modules drive.
//
// Writes go through a Catalog (the catalog-management service, in
// provisiond storage.Catalogs): each is validated, compiled, stored and
// served in one step, exactly like a write through the REST admin API.
// Select goes through a Resolver (the resolution service).
//
// matchbox's write semantics that Terraform relies on are kept: a profile
// may be put before the templates it names, objects may be deleted in any
// order (a dangling reference is a warning, and the machines it concerns
// get 404 with the reason), and Get returns what was Put, selector keys and
// values as written.
package rpc
