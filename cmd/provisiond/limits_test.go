package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestServerLimits checks the limits set on the boot listener on purpose:
// a header flood is refused with 431, and a client that never finishes its
// headers (slowloris) is disconnected after --read-header-timeout.
func TestServerLimits(t *testing.T) {
	p := start(t, nil, "--data-dir", t.TempDir(), "--catalog", testCatalog, "--read-header-timeout", "300ms")

	conn, err := net.Dial("tcp", p.boot)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "GET /ipxe?mac=52:54:00:89:d8:10 HTTP/1.1\r\nHost: x\r\n"
	for i := 0; i < 2000; i++ {
		req += "X-Flood-" + strings.Repeat("a", 10) + ": " + strings.Repeat("b", 60) + "\r\n"
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	// Write while reading: the server answers 431 and closes without
	// reading the rest, and a reset would discard an answer not yet read.
	go conn.Write([]byte(req + "\r\n"))
	status, err := bufio.NewReader(conn).ReadString('\n')
	switch {
	case strings.Contains(status, "431"):
	case err != nil && !isTimeout(err):
		// The reset won the race against the 431: the server still
		// refused the flood and closed the connection.
		t.Logf("header flood: connection closed (%v) before the 431 was read", err)
	default:
		t.Errorf("header flood: %q %v, want 431", status, err)
	}

	slow, err := net.Dial("tcp", p.boot)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte("GET /ipxe?mac=52:54:00:89:d8:10 HTTP/1.1\r\nHost: x\r\n")) // never finished
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	buf := make([]byte, 512)
	_, err = slow.Read(buf)
	for err == nil {
		_, err = slow.Read(buf)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("slow client still connected after %s", time.Since(start))
	}
	// The server still answers normal boots afterwards.
	if code, _ := get(t, "http://"+p.boot+"/ipxe?mac=52:54:00:89:d8:10"); code != 200 {
		t.Errorf("after the abuse: %d", code)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
