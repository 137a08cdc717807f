package etcd_test

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// cluster is a real etcd cluster of embedded members, on loopback ports
// chosen at run time, with data under t.TempDir().
type cluster struct {
	t       testing.TB
	members []*member
}

type member struct {
	cfg    *embed.Config
	e      *embed.Etcd   // nil while stopped
	closed chan struct{} // closed when the last stop has released ports and data
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("picking a port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func loopbackURL(port int) url.URL {
	return url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)}
}

// startCluster starts n members and waits until they serve. Ports are
// picked by listening on 127.0.0.1:0 and closing; if another process took
// one meanwhile the whole cluster is started again on new ports.
func startCluster(t testing.TB, n int) *cluster {
	t.Helper()
	var lastErr error
	for attempt := range 5 {
		c := &cluster{t: t}
		dir := t.TempDir()
		token := fmt.Sprintf("provisiond-test-%d-%d", time.Now().UnixNano(), attempt)
		var initial []string
		for i := range n {
			cfg := embed.NewConfig()
			cfg.Name = fmt.Sprintf("m%d", i)
			cfg.Dir = fmt.Sprintf("%s/m%d", dir, i)
			peer, client := loopbackURL(freePort(t)), loopbackURL(freePort(t))
			cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
			cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
			cfg.InitialClusterToken = token
			cfg.LogLevel = "error"
			cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop()) // closing logs errors
			cfg.TickMs, cfg.ElectionMs = 50, 500
			cfg.UnsafeNoFsync = true
			initial = append(initial, fmt.Sprintf("%s=%s", cfg.Name, peer.String()))
			c.members = append(c.members, &member{cfg: cfg})
		}
		for _, m := range c.members {
			m.cfg.InitialCluster = strings.Join(initial, ",")
		}
		if lastErr = c.startAll(); lastErr == nil {
			t.Cleanup(c.close)
			return c
		}
		c.close()
		if !strings.Contains(lastErr.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("starting etcd: %v", lastErr)
	return nil
}

func (c *cluster) startAll() error {
	var wg sync.WaitGroup
	errs := make([]error, len(c.members))
	for i := range c.members {
		wg.Go(func() { errs[i] = c.start(i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// start starts member i (again) and waits until it has joined its cluster.
func (c *cluster) start(i int) error {
	m := c.members[i]
	if m.closed != nil {
		<-m.closed
	}
	var err error
	for range 20 { // a restarted member's old ports may take a moment to free
		if m.e, err = embed.StartEtcd(m.cfg); err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("member %s: %w", m.cfg.Name, err)
	}
	select {
	case <-m.e.Server.ReadyNotify():
		return nil
	case err := <-m.e.Err():
		return fmt.Errorf("member %s: %w", m.cfg.Name, err)
	case <-time.After(20 * time.Second):
		return fmt.Errorf("member %s: not ready after 20s", m.cfg.Name)
	}
}

// restart starts stopped members at once (a member alone cannot be ready
// without a quorum) and waits for them.
func (c *cluster) restart(idx ...int) {
	c.t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(idx))
	for j, i := range idx {
		wg.Go(func() { errs[j] = c.start(i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.t.Fatalf("restarting etcd: %v", err)
		}
	}
}

// stop stops member i as a crash would: raft stops at once, without
// handing over leadership; the listeners close in the background (a
// graceful close waits seconds for clients' watch streams).
func (c *cluster) stop(i int) {
	m := c.members[i]
	if m.e == nil {
		return
	}
	e := m.e
	m.e = nil
	e.Server.HardStop()
	m.closed = make(chan struct{})
	go func() { e.Close(); close(m.closed) }()
}

func (c *cluster) close() {
	for i, m := range c.members {
		c.stop(i)
		if m.closed != nil {
			<-m.closed
		}
	}
}

// endpoints returns every member's client URL, running or not.
func (c *cluster) endpoints() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, m.cfg.AdvertiseClientUrls[0].String())
	}
	return out
}

// leader returns the index of the member that leads the cluster.
func (c *cluster) leader() int {
	c.t.Helper()
	for range 100 {
		for i, m := range c.members {
			if m.e != nil && m.e.Server.Leader() == m.e.Server.MemberID() {
				return i
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatal("no leader")
	return -1
}
