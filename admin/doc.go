// Package admin is provisiond's admin REST API (/api/v1/...), served on
// its own listener (--admin-addr): profiles, groups, pools, machines,
// templates and the whole catalog (list, get, put, delete, with
// validation, ETags and dry runs), leases, the inventory, and select and
// render, which preview what a machine would be answered.
//
// Handlers parse the request, call the service below (storage.Catalogs for
// changes, resolve in Preview mode for select and render) and answer.
// Every error is mapped to a status and a field in one place, toAPI, by
// its type (invalid.FieldError, invalid.ConflictError, resolve.PoolError,
// encoding/json's errors) or sentinel (catalog.ErrInvalid,
// storage.ErrConflict, ...), never by its message. Errors are JSON
// {"error": "...", "field": "..."}.
//
// Authentication (Auth: bearer tokens and/or verified client
// certificates) wraps every route.
package admin
