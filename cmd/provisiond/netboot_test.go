package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provisiond/provisiond/server"
)

func TestCheckNetboot(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" = valid
		bootURL string
	}{
		{"nothing asked", nil, "", ""},
		{"proxy, boot URL from --addr", []string{"--proxy-dhcp", "--addr", "10.0.0.1:8080"}, "", "http://10.0.0.1:8080"},
		{"proxy, explicit boot URL", []string{"--proxy-dhcp", "--addr", "0.0.0.0:8080", "--boot-url", "http://boot.example:8080/"}, "--proxy-dhcp needs this server's IPv4 address", ""},
		{"proxy, boot URL with an IP", []string{"--proxy-dhcp", "--addr", "0.0.0.0:8080", "--boot-url", "http://10.0.0.1:8080/"}, "", "http://10.0.0.1:8080"},
		{"proxy on 0.0.0.0 without --boot-url", []string{"--proxy-dhcp", "--addr", "0.0.0.0:8080"}, "give --boot-url", ""},
		{"proxy on port 0 without --boot-url", []string{"--proxy-dhcp", "--addr", "127.0.0.1:0"}, "give --boot-url", ""},
		{"bad boot URL", []string{"--proxy-dhcp", "--boot-url", "ftp://x"}, "--boot-url", ""},
		{"range without full mode", []string{"--dhcp-range", "lab", "--addr", "10.0.0.1:8080"}, "--dhcp-mode=full", ""},
		{"full mode without range", []string{"--dhcp-mode", "full", "--addr", "10.0.0.1:8080"}, "--dhcp-range", ""},
		{"full mode", []string{"--dhcp-mode", "full", "--dhcp-range", "lab", "--addr", "10.0.0.1:8080"}, "", "http://10.0.0.1:8080"},
		{"unknown mode", []string{"--dhcp-mode", "relay"}, "--dhcp-mode", ""},
		{"bad boot file mapping", []string{"--proxy-dhcp", "--addr", "10.0.0.1:8080", "--pxe-bootfile", "ppc=x"}, "--pxe-bootfile", ""},
		{"tftp without root", []string{"--tftp"}, "--tftp-root", ""},
		{"tftp root missing", []string{"--tftp", "--tftp-root", filepath.Join(root, "nope")}, "--tftp-root", ""},
		{"tftp", []string{"--tftp", "--tftp-root", root}, "", ""},
		{"unknown interface", []string{"--proxy-dhcp", "--addr", "10.0.0.1:8080", "--dhcp-interface", "nosuchif0"}, "--dhcp-interface", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg serveConfig
			fs := serveFlags(&cfg)
			fs.SetOutput(io.Discard)
			if err := parseWithEnv(fs, tc.args, func(string) string { return "" }); err != nil {
				t.Fatal(err)
			}
			err := checkNetboot(&cfg.Netboot, cfg.Addr)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Netboot.BootURL != tc.bootURL {
					t.Errorf("boot URL %q, want %q", cfg.Netboot.BootURL, tc.bootURL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want one naming %q", err, tc.wantErr)
			}
		})
	}
}

// TestFullDHCPNeedsItsPool: --dhcp-range naming a pool the catalog does
// not have refuses the start, naming the flag.
func TestFullDHCPNeedsItsPool(t *testing.T) {
	var cfg serveConfig
	fs := serveFlags(&cfg)
	fs.SetOutput(io.Discard)
	args := []string{"--addr", "127.0.0.1:0", "--admin-addr", "", "--data-dir", t.TempDir(),
		"--catalog", filepath.Join("..", "..", "e2e", "testdata", "catalog"),
		"--dhcp-mode", "full", "--dhcp-range", "nope", "--boot-url", "http://127.0.0.1:8080",
		"--dhcp-addr", "127.0.0.1:0", "--dhcp-pxe-addr", "127.0.0.1:0"}
	if err := parseWithEnv(fs, args, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := runServe(ctx, cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "--dhcp-range") || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("err %v, want a refusal naming --dhcp-range and the pool", err)
	}
}

// TestNetbootHTTP: --tftp-root is also served under /netboot/ (for UEFI
// HTTP boot), confined like /assets, and every other path still reaches
// the boot server.
func TestNetbootHTTP(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "ipxe.efi"), []byte("MZ efi"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := netbootFiles(netbootConfig{TFTPRoot: root}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	h := server.New(server.Config{Netboot: files})
	for path, want := range map[string]string{
		"/netboot/ipxe.efi":  "200 MZ efi",
		"/netboot/nope.efi":  "404",
		"/netboot/../go.mod": "404",
		"/netboot/":          "404",
		"/boot.ipxe":         "200 #!ipxe",
	} {
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest("GET", "http://x"+path, nil))
		got := fmt.Sprint(rr.Code)
		if rr.Code == 200 {
			got += " " + rr.Body.String()
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("GET %s: %q, want %q", path, got, want)
		}
	}
}
