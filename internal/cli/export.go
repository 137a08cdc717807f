package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/provisiond/provisiond/catalog"
)

const exportUsage = `Usage: provisiond export DIR [flags]

Writes the server's catalog as a catalog directory (profiles/, groups/,
ignition/, cloud/, generic/, pools/, machines/) that --catalog and
'provisiond apply -f' read: to back it up, or to bring changes made through
the API into the directory that a --catalog server reloads from. DIR must
not exist or be empty.

Flags:
`

// Export is `provisiond export`.
func Export(args []string, stdout, stderr io.Writer) int {
	var cfg ClientConfig
	fs := clientFlags("export", &cfg, false, stderr, exportUsage)
	return Exit(stderr, "export", func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return Usagef("want DIR")
		}
		dir := pos[0]
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return fmt.Errorf("%s is not empty: export writes a whole catalog into an empty directory", dir)
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		resp, err := c.do(http.MethodGet, "/api/v1/catalog", nil, nil, nil)
		if err != nil {
			return err
		}
		cat, err := catalog.DecodeDocument(resp.Body)
		if err != nil {
			return fmt.Errorf("the server's catalog: %w", err)
		}
		if err := writeLayout(dir, cat); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %d profiles, %d groups, %d pools, %d machines and %d templates to %s\n",
			len(cat.Profiles), len(cat.Groups), len(cat.Pools), len(cat.Machines),
			len(cat.Templates["ignition"])+len(cat.Templates["cloud"])+len(cat.Templates["generic"]), dir)
		return nil
	}())
}

// writeLayout writes c as a provisiond catalog directory.
func writeLayout(dir string, c *catalog.Catalog) error {
	write := func(sub, name string, data []byte) error {
		// Names come from the server or from files: never let one
		// leave its directory.
		if name == "" || filepath.Base(name) != name || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("%s/%s: not a file name", sub, name)
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, sub, name), data, 0o644)
	}
	obj := func(sub, name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		return write(sub, name+".json", append(b, '\n'))
	}
	for id, p := range c.Profiles {
		if err := obj("profiles", id, p); err != nil {
			return err
		}
	}
	for id, g := range c.Groups {
		if err := obj("groups", id, g); err != nil {
			return err
		}
	}
	for id, p := range c.Pools {
		if err := obj("pools", id, p); err != nil {
			return err
		}
	}
	for id, m := range c.Machines {
		if err := obj("machines", id, m); err != nil {
			return err
		}
	}
	for kind, ts := range c.Templates {
		for name, text := range ts {
			if err := write(string(kind), name, []byte(text)); err != nil {
				return err
			}
		}
	}
	return nil
}
