// Package reqlog writes provisiond's request log line, one a request,
// without slog's per-record costs, byte for byte as slog's TextHandler or
// JSONHandler would write it.
//
// A line of a machine's request has eight attributes (method, path,
// status, duration, remote, mac, group, profile); a slog.Record keeps five
// inline, so slog allocates for the other three, and formats every
// attribute through its generic Value path. Handler wraps slog's own
// handler: every ordinary record goes to it, unchanged, and LogRequest
// appends the request line into a reused buffer and writes it with one
// Write. Both go through one locked writer, so a request line and any
// other line never interleave.
package reqlog
