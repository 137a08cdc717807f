// Package assets serves kernels, initrds and disk images from one directory
// under the /assets/ prefix of the boot server.
//
// A [Handler] is confined to its directory with [os.Root]: a request can only
// ever reach a regular file below that directory, either directly or through
// symlinks that stay inside it. Anything else (parent-directory traversal,
// percent-encoded or backslash tricks, NUL bytes, absolute paths, symlinks
// leading out, directories, hidden files, devices and FIFOs) answers
// 404 Not Found, so a client learns nothing about what lies outside.
//
// Files are served with [http.ServeContent], which gives single and
// multi-range requests, HEAD, conditional requests (If-None-Match,
// If-Modified-Since, If-Range) and a sendfile-backed body, so a 1 GiB disk
// image is never read into memory. Each response carries a strong ETag
// derived from the file's size and modification time.
//
// The router mounts the handler with the prefix stripped:
//
//	r.Handle("/assets/*", http.StripPrefix("/assets", h))
package assets
