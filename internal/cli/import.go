package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/provisiond/provisiond/catalog"
	"github.com/provisiond/provisiond/catalog/matchbox"
)

const importUsage = `Usage: provisiond import-matchbox DIR [--out OUTDIR | --dry-run] [--allow-fallthrough] [flags]

Converts a matchbox data directory (profiles/, groups/, ignition/, cloud/,
generic/) and reports every change it makes: ids filled from file names,
selector keys lowercased, macs normalized, unknown fields dropped, old
"cmdline" maps turned into args. Container Linux Configs, which need
converting to Butane by hand, are reported and left out (the profiles
naming them lose their ignition_id: /ignition answers 404).

A group that cannot be converted (a selector value that is not a string,
a missing profile, a selector another group has too) is left out. When
its machines would then match another group, and so boot something else
than under matchbox, the import is refused and names both groups, unless
--allow-fallthrough says that this is intended.

The result is applied to the server in one transaction (merged into its
catalog), or with --out written as a provisiond catalog directory.

Flags:
`

// ImportMatchbox is `provisiond import-matchbox`.
func ImportMatchbox(args []string, stdout, stderr io.Writer) int {
	var cfg ClientConfig
	fs := clientFlags("import-matchbox", &cfg, false, stderr, importUsage)
	out := fs.String("out", "", "write the converted catalog to this `directory` instead of the server")
	dry := fs.Bool("dry-run", false, "validate on the server without changing anything")
	allow := fs.Bool("allow-fallthrough", false, "import even when machines of a group left out would fall to another group")
	return Exit(stderr, "import-matchbox", func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return Usagef("want DIR, a matchbox data directory")
		}
		res, err := matchbox.Import(pos[0])
		if err != nil {
			return err
		}
		c := res.Catalog
		for _, line := range res.Notes {
			fmt.Fprintln(stdout, line)
		}
		fmt.Fprintf(stdout, "converted %d profiles, %d groups, %d templates; %d notes\n",
			len(c.Profiles), len(c.Groups), len(c.Templates["ignition"])+len(c.Templates["cloud"])+len(c.Templates["generic"]), len(res.Notes))
		if err := res.Check(); err != nil {
			var fe *matchbox.FallthroughError
			if !*allow || !errors.As(err, &fe) {
				return fmt.Errorf("refused: %w\nfix these groups, or pass --allow-fallthrough to import anyway", err)
			}
			fmt.Fprintf(stderr, "warning: --allow-fallthrough: %v\n", err)
		}
		if *out != "" {
			if _, _, err := catalog.Compile(c, nil, catalog.Options{}); err != nil {
				return fmt.Errorf("the converted catalog does not validate: %w", err)
			}
			if err := writeLayout(*out, c); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %s\n", *out)
			return nil
		}
		cl, err := newClient(cfg)
		if err != nil {
			return err
		}
		res2, hdr, err := sendCatalog(cl, c, false, *dry, "")
		if err != nil {
			return err
		}
		printWarnings(stderr, hdr)
		printChanges(stdout, res2)
		return nil
	}())
}
