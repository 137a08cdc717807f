package assets

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path"
)

// ErrNotDirectory is returned (wrapped) by [New] when the assets root exists
// but is not a directory.
var ErrNotDirectory = errors.New("not a directory")

// Handler serves the regular files below one directory. It is safe for
// concurrent use. Create it with [New] and release it with [Handler.Close].
type Handler struct {
	root   *os.Root
	logger *slog.Logger
}

// New returns a Handler serving the files below the directory root.
// It fails, naming the directory, if root does not exist (the error then
// matches [fs.ErrNotExist]) or is not a directory ([ErrNotDirectory]).
// A nil logger discards log records.
func New(root string, logger *slog.Logger) (*Handler, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("assets: root directory %q: %w", root, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("assets: root directory %q: %w", root, ErrNotDirectory)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("assets: open root directory %q: %w", root, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{root: r, logger: logger}, nil
}

// Close releases the root directory. Requests served after Close answer
// 503 Service Unavailable.
func (h *Handler) Close() error {
	return h.root.Close()
}

// ServeHTTP serves the file named by r.URL.Path, which must already have the
// /assets prefix stripped. Only GET and HEAD are allowed (other methods get
// 405 with an Allow header). Paths that do not name a visible regular file
// inside the root answer 404 and the cause is logged at Debug.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, err := assetName(r.URL.Path)
	if err != nil {
		h.notFound(w, r, err)
		return
	}
	f, fi, err := h.open(name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer f.Close()

	hdr := w.Header()
	hdr.Set("ETag", etag(fi))
	hdr.Set("X-Content-Type-Options", "nosniff")
	if path.Ext(name) == "" {
		// Kernels have no extension; naming the type spares ServeContent a
		// sniffing read of the first 512 bytes.
		hdr.Set("Content-Type", "application/octet-stream")
	}
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// notFound answers 404 and logs why at Debug: a bad path is the client's
// business, not an operator's.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, cause error) {
	h.logger.LogAttrs(r.Context(), slog.LevelDebug, "asset not found",
		slog.String("path", cleanPath(r.URL.Path)),
		slog.String("cause", cause.Error()))
	http.NotFound(w, r)
}

// fail maps an error from open to a status: 503 once the handler is closed,
// 500 when the server is out of resources or the disk fails, and 404 for
// everything a client can provoke by naming a path.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, os.ErrClosed):
		h.logger.LogAttrs(r.Context(), slog.LevelWarn, "asset requested after close",
			slog.String("path", cleanPath(r.URL.Path)))
		http.Error(w, "503 service unavailable", http.StatusServiceUnavailable)
	case isServerFault(err):
		h.logger.LogAttrs(r.Context(), slog.LevelError, "asset open failed",
			slog.String("path", cleanPath(r.URL.Path)),
			slog.String("error", err.Error()))
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
	default:
		h.notFound(w, r, err)
	}
}

// etag returns a strong validator that changes whenever the file's size or
// modification time does, and is stable otherwise.
func etag(fi os.FileInfo) string {
	return fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano())
}
