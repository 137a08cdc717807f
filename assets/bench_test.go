package assets

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkServeAsset measures a whole 16 MiB image and a 1 MiB range of it,
// served over loopback with keep-alive connections.
func BenchmarkServeAsset(b *testing.B) {
	const size = 16 << 20
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "image.raw"), kernelBytes(size), 0o644); err != nil {
		b.Fatal(err)
	}
	srv := serve(b, dir, nil)
	client := srv.Client()
	url := srv.URL + "/assets/image.raw"

	bench := func(b *testing.B, rangeHeader string, wantStatus int, n int64) {
		b.ReportAllocs()
		b.SetBytes(n)
		for b.Loop() {
			req, err := http.NewRequest(http.MethodGet, url, nil)
			if err != nil {
				b.Fatal(err)
			}
			if rangeHeader != "" {
				req.Header.Set("Range", rangeHeader)
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			got, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != wantStatus || got != n {
				b.Fatalf("status %d, %d bytes, %v; want %d, %d bytes", resp.StatusCode, got, err, wantStatus, n)
			}
		}
	}
	b.Run("full-16MiB", func(b *testing.B) { bench(b, "", http.StatusOK, size) })
	b.Run("range-1MiB", func(b *testing.B) {
		const off = 4 << 20
		bench(b, fmt.Sprintf("bytes=%d-%d", off, off+1<<20-1), http.StatusPartialContent, 1<<20)
	})
}
