// Package statuswriter is the http.ResponseWriter wrapper that the boot
// listener's and the admin listener's request logs share: it remembers the
// status a handler answered, for the log line and the metrics.
package statuswriter

import (
	"io"
	"net/http"
)

// Writer remembers the status a handler wrote. It keeps sendfile working
// for files served behind it (ReadFrom) and lets http.ResponseController
// reach the connection (Unwrap).
type Writer struct {
	http.ResponseWriter
	status int
}

// Status is the status the handler answered: what it passed to
// WriteHeader, 200 when it only wrote a body or wrote nothing at all.
func (w *Writer) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (w *Writer) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *Writer) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps sendfile working for assets behind the wrapper.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return io.Copy(w.ResponseWriter, r)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
