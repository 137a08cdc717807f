package bolt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/provisiond/provisiond/ipam"
)

// The crash tests run the test binary itself as a child that writes under
// load, kill it with SIGKILL at a random point, reopen the store and check
// that everything the child reported as done is still there, whole.
// Set PROVISIOND_CRASH_SEED to replay a logged seed.
const (
	envChild = "PROVISIOND_CRASH_CHILD" // child mode: "allocate" or "replace"
	envDir   = "PROVISIOND_CRASH_DIR"   // data dir
	envStart = "PROVISIOND_CRASH_START" // first mac number, or first generation
	envSeed  = "PROVISIOND_CRASH_SEED"

	crashRuns    = 5
	childWorkers = 16
)

// TestCrashChild is the child process; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	mode := os.Getenv(envChild)
	if mode == "" {
		t.Skip("the child process of the crash tests")
	}
	// An orphan whose parent died must not run forever.
	time.AfterFunc(30*time.Second, func() { os.Exit(3) })
	start, err := strconv.Atoi(os.Getenv(envStart))
	if err != nil {
		childFail("%s: %v", envStart, err)
	}
	s, err := Open(os.Getenv(envDir))
	if err != nil {
		childFail("open: %v", err)
	}
	switch mode {
	case "allocate":
		childAllocate(s, start)
	case "replace":
		childReplace(s, start)
	}
	childFail("unknown mode %q", mode)
}

func childFail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "crash child: "+format+"\n", args...)
	os.Exit(2)
}

// childSay writes one whole line to stdout in one write, so that a kill
// never leaves half a line and goroutines never interleave.
var childOut sync.Mutex

func childSay(format string, args ...any) {
	line := fmt.Sprintf(format+"\n", args...)
	childOut.Lock()
	defer childOut.Unlock()
	if _, err := os.Stdout.WriteString(line); err != nil {
		os.Exit(4)
	}
}

// crashPool is a /16, far larger than the runs fill.
func crashPool() *ipam.Pool {
	p := &ipam.Pool{Name: "crash", CIDR: "10.30.0.0/16", Start: "10.30.0.1", End: "10.30.255.254",
		Gateway: "10.30.0.1", Reserved: []string{"10.30.0.7", "10.30.1.0"}}
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

func crashMAC(i int) string {
	return fmt.Sprintf("02:cc:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

// childAllocate allocates for new macs from childWorkers goroutines until
// it is killed, reporting each lease once Allocate has returned.
func childAllocate(s *Store, start int) {
	pool := crashPool()
	var wg sync.WaitGroup
	for w := range childWorkers {
		wg.Go(func() {
			for i := start + w; ; i += childWorkers {
				mac := crashMAC(i)
				l, err := s.Allocate(context.Background(), pool, mac)
				if err != nil {
					childFail("allocate %s: %v", mac, err)
				}
				childSay("lease %s %s", l.MAC, l.Address)
			}
		})
	}
	wg.Wait()
}

// child is a started child process and the lines it printed.
type child struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	// readErr is set by the reader before it closes lines.
	readErr error
}

func startChild(t *testing.T, mode, dir string, start int) *child {
	t.Helper()
	c := &child{lines: make(chan string, 1024)}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=60s")
	c.cmd.Env = append(os.Environ(), envChild+"="+mode, envDir+"="+dir, envStart+"="+strconv.Itoa(start))
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	go func() {
		defer close(c.lines)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				if !errors.Is(err, io.EOF) {
					c.readErr = err
				}
				return // a line cut by the kill was never reported whole
			}
			c.lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	return c
}

// killAfterFirst waits for the child's first line, lets it run for delay
// more, kills it with SIGKILL and returns every whole line it printed.
func (c *child) killAfterFirst(t *testing.T, delay time.Duration) []string {
	t.Helper()
	var lines []string
	select {
	case l, ok := <-c.lines:
		if !ok {
			c.cmd.Wait()
			t.Fatalf("child exited before its first line: %v\n%s", c.cmd.ProcessState, c.stderr.String())
		}
		lines = append(lines, l)
	case <-time.After(20 * time.Second):
		t.Fatalf("no line from the child in 20s\n%s", c.stderr.String())
	}
	time.Sleep(delay)
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	for l := range c.lines {
		lines = append(lines, l)
	}
	if c.readErr != nil {
		t.Fatalf("reading the child: %v", c.readErr)
	}
	c.cmd.Wait()
	ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended by itself (%v), not by the kill:\n%s", c.cmd.ProcessState, c.stderr.String())
	}
	return lines
}

// crashRNG returns the random source of a crash test, seeded from
// PROVISIOND_CRASH_SEED or the clock, and logs the seed.
func crashRNG(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(envSeed); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s: %v", envSeed, err)
		}
	}
	t.Logf("seed %d (replay with %s=%d)", seed, envSeed, seed)
	return rand.New(rand.NewPCG(seed, 0))
}

func TestCrashAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: runs child processes")
	}
	rng := crashRNG(t)
	dir := t.TempDir()
	answered := map[string]netip.Addr{} // every lease any child reported, over all runs
	next := 0
	for run := range crashRuns {
		delay := time.Duration(rng.IntN(400)) * time.Millisecond
		c := startChild(t, "allocate", dir, next)
		lines := c.killAfterFirst(t, delay)
		for _, line := range lines {
			var mac, a string
			if _, err := fmt.Sscanf(line, "lease %s %s", &mac, &a); err != nil {
				t.Fatalf("child line %q: %v", line, err)
			}
			addr := netip.MustParseAddr(a)
			if prev, ok := answered[mac]; ok && prev != addr {
				t.Errorf("%s answered %s, earlier %s", mac, addr, prev)
			}
			answered[mac] = addr
		}

		s := mustOpen(t, dir)
		leases := checkStore(t, s)
		byMAC := map[string]ipam.Lease{}
		for _, l := range leases {
			byMAC[l.MAC] = l
		}
		pool := crashPool()
		for _, l := range leases {
			if !pool.Assignable(l.Address) {
				t.Errorf("run %d: %s holds %s, not assignable", run, l.MAC, l.Address)
			}
		}
		lost := 0
		for mac, a := range answered {
			if l, ok := byMAC[mac]; !ok || l.Address != a {
				lost++
				if lost <= 5 {
					t.Errorf("run %d: %s was answered %s, now holds %v (held: %v)", run, mac, a, l.Address, ok)
				}
			}
		}
		if lost > 0 {
			t.Fatalf("run %d: %d answered leases lost or moved", run, lost)
		}
		t.Logf("run %d: killed %s after the first lease; %d answered in this run, %d leases stored", run, delay, len(lines), len(leases))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// Next run's macs are all new; the ones allocated but not reported
		// before the kill stay in the store.
		next += 1 << 20
	}
}
