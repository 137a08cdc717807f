package main

import (
	"fmt"
	"io"
	"net/http"
	"os"

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

// cmdExport implements `provisiond export`.
func cmdExport(args []string, stdout, stderr io.Writer) int {
	var cfg clientConfig
	fs := clientFlags("export", &cfg, false)
	fs.SetOutput(stderr)
	fs.Usage = flagUsage(fs, exportUsage)
	return runClient("export", stderr, func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("want DIR")
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
	})
}
