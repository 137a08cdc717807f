package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const machinesUsage = `Usage: provisiond machines [NAME] [--state STATE] [--watch] [-o table|json|yaml] [flags]

Lists every machine, registered or only seen (discovered), with its state
(discovered, booting, configured; registered for a machine never seen),
when it was last seen, its group and its addresses.

--watch polls every --interval and prints the list again each time it
changes, until interrupted (Ctrl-C) or for --watch-for at most.
'provisiond describe machine NAME|MAC' shows one machine in full.

Flags:
`

// Machines is `provisiond machines`.
func Machines(args []string, stdout, stderr io.Writer) int {
	var cfg ClientConfig
	fs := clientFlags("machines", &cfg, true, stderr, machinesUsage)
	state := fs.String("state", "", "only machines in this `state`")
	watch := fs.Bool("watch", false, "poll and print the list again whenever it changes")
	interval := fs.Duration("interval", 2*time.Second, "with --watch, time between polls")
	watchFor := fs.Duration("watch-for", time.Hour, "with --watch, stop after this long")
	return Exit(stderr, "machines", func() error {
		pos, err := parseClient(fs, args)
		if err != nil {
			return err
		}
		if len(pos) > 1 {
			return Usagef("want at most one machine NAME")
		}
		if *watch && (*interval < 100*time.Millisecond || *watchFor <= 0) {
			return Usagef("--interval must be at least 100ms and --watch-for positive")
		}
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		path, q := "/api/v1/machines", url.Values{}
		if *state != "" {
			q.Set("state", *state)
		}
		if len(pos) == 1 {
			path += "/" + url.PathEscape(pos[0])
		}
		list := func(w io.Writer) error {
			resp, err := c.do(http.MethodGet, path, q, nil, nil)
			if err != nil {
				return err
			}
			if cfg.Output != "table" {
				return printStructured(w, cfg.Output, resp.Body)
			}
			body := resp.Body
			if len(pos) == 1 {
				body = append(append([]byte("["), body...), ']')
			}
			return printTable(w, "machines", body)
		}
		if !*watch {
			return list(stdout)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		ctx, cancel := context.WithTimeout(ctx, *watchFor)
		defer cancel()
		return watchList(ctx, stdout, stderr, *interval, list)
	}())
}

// watchList prints what list writes, then polls every interval and prints
// it again, under a time line, whenever it changed; until ctx is done. A
// failed first poll is an error; later failures are reported and the
// polling goes on.
func watchList(ctx context.Context, stdout, stderr io.Writer, interval time.Duration, list func(io.Writer) error) error {
	var last []byte
	t := time.NewTicker(interval)
	defer t.Stop()
	for first := true; ; first = false {
		var buf bytes.Buffer
		if err := list(&buf); err != nil {
			if first {
				return err
			}
			fmt.Fprintf(stderr, "provisiond: machines: %v (still watching)\n", err)
		} else if !bytes.Equal(buf.Bytes(), last) {
			if !first {
				fmt.Fprintf(stdout, "\n# %s\n", time.Now().UTC().Format(time.RFC3339))
			}
			stdout.Write(buf.Bytes())
			last = buf.Bytes()
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				fmt.Fprintln(stderr, "provisiond: machines: --watch-for elapsed; stopped watching")
			}
			return nil
		case <-t.C:
		}
	}
}
