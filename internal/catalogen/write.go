package catalogen

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/profiles"
)

// Write writes c to dir in the matchbox layout that catalog.LoadDir reads
// (profiles/, groups/, pools/, machines/, ignition/, cloud/, generic/).
func Write(dir string, c *catalog.Catalog) error {
	put := func(sub, name string, data []byte) error {
		return os.WriteFile(filepath.Join(dir, sub, name), data, 0o644)
	}
	putJSON := func(sub, name string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return put(sub, name+".json", data)
	}
	for _, sub := range []string{"profiles", "groups", "pools", "machines", "ignition", "cloud", "generic"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("catalogen: %w", err)
		}
	}
	var err error
	for id, p := range c.Profiles {
		if err = putJSON("profiles", id, p); err != nil {
			return fmt.Errorf("catalogen: %w", err)
		}
	}
	if err := writeGroups(c, putJSON); err != nil {
		return fmt.Errorf("catalogen: %w", err)
	}
	for name, p := range c.Pools {
		if err = putJSON("pools", name, p); err != nil {
			return fmt.Errorf("catalogen: %w", err)
		}
	}
	for name, m := range c.Machines {
		if err = putJSON("machines", name, m); err != nil {
			return fmt.Errorf("catalogen: %w", err)
		}
	}
	for _, kind := range profiles.Kinds {
		for name, text := range c.Templates[kind] {
			if err = put(string(kind), name, []byte(text)); err != nil {
				return fmt.Errorf("catalogen: %w", err)
			}
		}
	}
	return nil
}

// writeGroups writes the groups on several goroutines: at a million
// machines the file creations, not the encoding, are the time, and they
// overlap. Files are written without fsync (a benchmark's scratch
// directory; a crash loses nothing we promised to keep).
func writeGroups(c *catalog.Catalog, putJSON func(sub, name string, v any) error) error {
	ids := make(chan string, 1024)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range max(8, 4*runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				if err := putJSON("groups", id, c.Groups[id]); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for id := range c.Groups {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		ids <- id
	}
	close(ids)
	wg.Wait()
	return firstErr
}

// Asset paths that the generated profiles boot, relative to an assets root.
const (
	KernelPath = "flatcar/vmlinuz"
	InitrdPath = "flatcar/initrd.cpio.gz"
)

// WriteAssets writes a random kernel and initrd of the given sizes under
// root, at KernelPath and InitrdPath.
func WriteAssets(root string, kernelBytes, initrdBytes int64) error {
	for _, f := range []struct {
		path string
		size int64
	}{{KernelPath, kernelBytes}, {InitrdPath, initrdBytes}} {
		if err := WriteRandomFile(filepath.Join(root, f.path), f.size); err != nil {
			return err
		}
	}
	return nil
}

// WriteRandomFile writes size random bytes to path, creating its directory.
func WriteRandomFile(path string, size int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("catalogen: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("catalogen: %w", err)
	}
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		rand.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return fmt.Errorf("catalogen: %w", err)
		}
		left -= n
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("catalogen: %w", err)
	}
	return nil
}
