package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/provisiond/provisiond/internal/catalogen"
)

// stormResult is the outcome of one storm.
type stormResult struct {
	Machines, Concurrency int
	Elapsed               time.Duration
	Failed                int
	// Addresses maps each leased address to the machine that got it.
	Addresses, Duplicates int
	Endpoints             []summary
	// ServerCPU is the CPU time the spawned server used during the storm,
	// in cores (1 is one core busy all the time); 0 when unknown.
	ServerCPU float64
	// addrOf is each machine's address (by index), for the durability check.
	addrOf []string
}

// MachinesPerSecond is the storm's completed machines per second.
func (s *stormResult) MachinesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Machines-s.Failed) / s.Elapsed.Seconds()
}

// stormEndpoints are the steps of a boot, in order; the config step is
// /ignition or /cloud by the machine's kind.
var stormEndpoints = []string{"/boot.ipxe", "/ipxe", "/assets (1 MiB range)", "/ignition", "/cloud", "/metadata"}

// hexhyp is a mac as iPXE's ${mac:hexhyp} writes it.
func hexhyp(mac string) string { return strings.ReplaceAll(mac, ":", "-") }

func newClient(conns int) *http.Client { return newClientFrom(conns, nil) }

// newClientFrom returns a client whose connections come from source
// address src (nil: any).
func newClientFrom(conns int, src net.IP) *http.Client {
	return newClientTimeout(conns, src, 30*time.Second, nil)
}

// newClientTimeout is newClientFrom with a request timeout of its own.
// With held set, each connection it dials is kept there (a storm
// worker's client has one at a time), for lowatRead.
func newClientTimeout(conns int, src net.IP, timeout time.Duration, held *atomic.Pointer[net.TCPConn]) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	dial := d.DialContext
	if held != nil {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				held.Store(tc)
			}
			return c, err
		}
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         dial,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			DisableCompression:  true,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// get fetches base+path and returns the body when the status is want.
func get(ctx context.Context, c *http.Client, base, path string, hdr http.Header, want int) ([]byte, error) {
	return fetch(ctx, c, base, path, hdr, want, false)
}

// discardBuf is where skipped bodies are read to.
var discardBuf = sync.Pool{New: func() any { return new([lowat]byte) }}

// lowat is the most bytes a storm worker's socket gathers before it wakes
// the reader of an asset (SO_RCVLOWAT). Without it the 1 MiB range read
// woke the load generator per segment: about 140 reads of 7.5 KB each,
// which on one core made the generator as costly as the server.
const lowat = 256 << 10

// heldKey is the context key of a storm worker's connection.
type heldKey struct{}

// fetch is get; with discard set it reads the body into a scratch buffer
// and returns nil, so that megabytes of assets cost the load generator no
// allocation.
func fetch(ctx context.Context, c *http.Client, base, path string, hdr http.Header, want int, discard bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if discard && resp.StatusCode == want {
		buf := discardBuf.Get().(*[lowat]byte)
		defer discardBuf.Put(buf)
		var n int64
		if held, _ := ctx.Value(heldKey{}).(*atomic.Pointer[net.TCPConn]); held != nil && held.Load() != nil && resp.ContentLength > 0 {
			n, err = lowatRead(held.Load(), resp.Body, buf[:], resp.ContentLength)
		} else {
			n, err = io.CopyBuffer(io.Discard, resp.Body, buf[:])
		}
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = fmt.Errorf("GET %s: %d bytes of %d", path, n, resp.ContentLength)
		}
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("GET %s: %d, want %d: %s", path, resp.StatusCode, want, firstLine(body))
	}
	return body, nil
}

// lowatRead reads a body of total bytes with the socket's SO_RCVLOWAT
// raised, so that each wake-up finds up to len(buf) bytes. The mark is
// never above what is still to come on the socket (the transport's
// buffer is drained by the first read, which then does not touch the
// socket), and is back at 1 before the next response can arrive: the
// next request is sent only after this returns.
func lowatRead(tc *net.TCPConn, body io.Reader, buf []byte, total int64) (int64, error) {
	raw, err := tc.SyscallConn()
	if err != nil {
		return io.CopyBuffer(io.Discard, body, buf)
	}
	cur := 1
	set := func(v int) {
		if v != cur {
			raw.Control(func(fd uintptr) { setRcvLowat(fd, v) })
			cur = v
		}
	}
	defer set(1)
	var n int64
	for {
		if left := total - n; left > 0 {
			set(int(min(left, int64(len(buf)))))
		}
		m, err := body.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// runStorm boots machines 0..n-1 of the generated catalog, concurrency at
// a time, each through the whole sequence, and checks their addresses.
func runStorm(ctx context.Context, base string, shape catalogen.Shape, n, concurrency int) (*stormResult, error) {
	return runStormBounded(ctx, base, shape, n, concurrency, stormBounds{})
}

// stormBounds bound a storm against a slow server (matchbox at 100,000
// groups answers in seconds).
type stormBounds struct {
	// StopAt, when set, is when the storm stops starting machines; those
	// in flight finish, and Machines counts only the machines started.
	StopAt time.Time
	// Timeout is each request's timeout (default 30 s).
	Timeout time.Duration
}

// runStormBounded is runStorm within bounds.
func runStormBounded(ctx context.Context, base string, shape catalogen.Shape, n, concurrency int, b stormBounds) (*stormResult, error) {
	if b.Timeout <= 0 {
		b.Timeout = 30 * time.Second
	}
	var started atomic.Int64
	stats := map[string]*endpointStats{}
	for _, e := range stormEndpoints {
		stats[e] = &endpointStats{}
	}
	res := &stormResult{Machines: n, Concurrency: concurrency, addrOf: make([]string, n)}
	var failed atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range min(concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each booting machine is a host of its own, as in a real
			// storm: a distinct source address in 127.0.0.0/8, which also
			// keeps every client under the server's per-client limit.
			held := new(atomic.Pointer[net.TCPConn])
			client := newClientTimeout(1, sourceAddr(base, w), b.Timeout, held)
			defer client.CloseIdleConnections()
			ctx := context.WithValue(ctx, heldKey{}, held)
			for {
				if !b.StopAt.IsZero() && time.Now().After(b.StopAt) {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				started.Add(1)
				addr, err := bootOne(ctx, client, base, shape, i, stats)
				if err != nil {
					failed.Add(1)
					continue
				}
				res.addrOf[i] = addr
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Failed = int(failed.Load())
	res.Machines = int(started.Load())
	for _, e := range stormEndpoints {
		if s := stats[e].summary(e, res.Elapsed); s.Requests > 0 {
			res.Endpoints = append(res.Endpoints, s)
		}
	}
	holder := map[string]int{}
	for i, a := range res.addrOf {
		if a == "" {
			continue
		}
		if _, dup := holder[a]; dup {
			res.Duplicates++
			continue
		}
		holder[a] = i
	}
	res.Addresses = len(holder)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("storm stopped: %w", err)
	}
	return res, nil
}

// sourceAddr returns worker w's source address, 127.1.x.y, when the target
// is an IPv4 loopback address; nil otherwise.
func sourceAddr(base string, w int) net.IP {
	u, err := url.Parse(base)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return nil
	}
	return net.IPv4(127, 1, byte(w/254), byte(w%254+1))
}

// bootOne plays machine i's network boot and returns the address
// /metadata reports for it.
func bootOne(ctx context.Context, c *http.Client, base string, shape catalogen.Shape, i int, stats map[string]*endpointStats) (string, error) {
	mac := hexhyp(catalogen.MAC(i))
	step := func(name, path string, hdr http.Header, want int) ([]byte, error) {
		t := time.Now()
		body, err := fetch(ctx, c, base, path, hdr, want, name == "/assets (1 MiB range)")
		stats[name].add(time.Since(t), err)
		return body, err
	}
	if _, err := step("/boot.ipxe", "/boot.ipxe", nil, http.StatusOK); err != nil {
		return "", err
	}
	script, err := step("/ipxe", "/ipxe?uuid=&mac="+mac+"&domain=&hostname=&serial=&arch=x86_64", nil, http.StatusOK)
	if err != nil {
		return "", err
	}
	kernel := kernelPath(script)
	if kernel == "" {
		err := fmt.Errorf("/ipxe for %s: no kernel line in %q", mac, firstLine(script))
		stats["/ipxe"].add(0, err)
		return "", err
	}
	if _, err := step("/assets (1 MiB range)", kernel, http.Header{"Range": {"bytes=0-1048575"}}, http.StatusPartialContent); err != nil {
		return "", err
	}
	cfg := shape.ConfigPath(i)
	if _, err := step(cfg, cfg+"?mac="+mac, nil, http.StatusOK); err != nil {
		return "", err
	}
	md, err := step("/metadata", "/metadata?mac="+mac, nil, http.StatusOK)
	if err != nil {
		return "", err
	}
	addr := metadataValue(md, "IP_ADDRESS")
	if addr == "" {
		err := fmt.Errorf("/metadata for %s: no IP_ADDRESS", mac)
		stats["/metadata"].add(0, err)
		return "", err
	}
	return addr, nil
}

// kernelPath returns the path of the kernel an iPXE script boots.
func kernelPath(script []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(script))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "kernel" {
			return f[1]
		}
	}
	return ""
}

// metadataValue returns KEY's value in a /metadata answer.
func metadataValue(md []byte, key string) string {
	sc := bufio.NewScanner(bytes.NewReader(md))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			return v
		}
	}
	return ""
}

// checkDurable asks a (restarted) server for every stormed machine's
// address and counts those that come back unchanged.
func checkDurable(ctx context.Context, base string, res *stormResult, concurrency int) (same, checked int, err error) {
	client := newClient(concurrency)
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var firstErr error
	var next atomic.Int64
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(res.addrOf) || ctx.Err() != nil {
					return
				}
				want := res.addrOf[i]
				if want == "" {
					continue
				}
				md, err := get(ctx, client, base, "/metadata?mac="+hexhyp(catalogen.MAC(i)), nil, http.StatusOK)
				mu.Lock()
				checked++
				switch {
				case err != nil:
					if firstErr == nil {
						firstErr = err
					}
				case metadataValue(md, "IP_ADDRESS") == want:
					same++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return same, checked, firstErr
}
