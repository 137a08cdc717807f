package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	butane "github.com/coreos/butane/config"
	"github.com/coreos/vcontext/report"
)

// referenceButaneToIgnition is ButaneToIgnition as it was before it relied
// on Butane's own validation of the Ignition it generates: translate, then
// CheckIgnition on the output. The new path must agree with it on every
// input: the same output bytes, the same warnings, the same error.
func referenceButaneToIgnition(src []byte) ([]byte, []Warning, error) {
	out, rep, err := butane.TranslateBytes(src, translateOptions)
	if err != nil && !hasVariant(src) {
		return nil, nil, &ButaneError{Problems: []ButaneProblem{{Message: err.Error() + ": this looks like a Container Linux Config (no variant and version), which matchbox before v0.10 accepted; provisiond needs Butane: add \"variant: flatcar\" and \"version: 1.0.0\" and convert it (see the Butane docs)"}}}
	}
	var problems []ButaneProblem
	var warnings []Warning
	for _, e := range rep.Entries {
		p := problemOf(e)
		if e.Kind == report.Error || strings.HasPrefix(e.Message, "unused key") {
			p.Kind = "error"
			problems = append(problems, p)
			continue
		}
		warnings = append(warnings, Warning(strings.TrimSpace(e.String())))
	}
	if err != nil && len(problems) == 0 {
		problems = append(problems, yamlProblem(err))
	}
	if len(problems) > 0 {
		return nil, warnings, &ButaneError{Problems: problems}
	}
	more, err := CheckIgnition(out)
	return out, append(warnings, more...), err
}

// sameTranslation reports how the new and reference paths differ on src,
// or "" when they agree. Findings are compared as sets: Butane reports
// unused keys in map order, so two runs of the same code on the same input
// can list them in different orders.
func sameTranslation(src []byte) (string, []byte, []Warning, error) {
	out, ws, err := ButaneToIgnition(src)
	refOut, refWs, refErr := referenceButaneToIgnition(src)
	switch {
	case !bytes.Equal(out, refOut):
		return fmt.Sprintf("output %q, reference %q", out, refOut), out, ws, err
	case !slices.Equal(sorted(ws), sorted(refWs)):
		return fmt.Sprintf("warnings %q, reference %q", ws, refWs), out, ws, err
	case (err == nil) != (refErr == nil):
		return fmt.Sprintf("error %v, reference %v", err, refErr), out, ws, err
	case err != nil && errorFindings(err) != errorFindings(refErr):
		return fmt.Sprintf("error %q, reference %q", err, refErr), out, ws, err
	case err != nil && errors.Is(err, ErrIgnition) != errors.Is(refErr, ErrIgnition):
		return fmt.Sprintf("error %v wraps ErrIgnition: %v, reference: %v", err, errors.Is(err, ErrIgnition), errors.Is(refErr, ErrIgnition)), out, ws, err
	case err != nil && fmt.Sprintf("%T", err) != fmt.Sprintf("%T", refErr):
		return fmt.Sprintf("error type %T, reference %T", err, refErr), out, ws, err
	}
	return "", out, ws, err
}

func sorted[T ~string](xs []T) []T {
	return slices.Sorted(slices.Values(xs))
}

// errorFindings is err's message, with a *ButaneError's problems sorted.
func errorFindings(err error) string {
	var be *ButaneError
	if !errors.As(err, &be) {
		return err.Error()
	}
	ps := make([]string, len(be.Problems))
	for i, p := range be.Problems {
		ps[i] = p.String()
	}
	return strings.Join(sorted(ps), "; ")
}

// matchboxNode is internal/catalogen's matchbox-shape Butane template
// (matchboxButane) rendered for one machine: what a storm machine's
// /ignition translates.
const matchboxNode = `variant: flatcar
version: 1.0.0
passwd:
  users:
    - name: core
      ssh_authorized_keys:
        - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRvY3Mgb25seSwgbm90IGEgcmVhbCBrZXkgLi4uLi4u provisiond-storm
storage:
  files:
    - path: /etc/hostname
      mode: 0644
      contents:
        inline: node0042
    - path: /etc/systemd/network/10-static.network
      mode: 0644
      contents:
        inline: |
          [Match]
          MACAddress=52:54:00:00:00:2a
          [Network]
          Address=10.128.0.42/9
          Gateway=10.128.0.1
systemd:
  units:
    - name: locksmithd.service
      mask: true
    - name: node-exporter.service
      enabled: true
      contents: |
        [Unit]
        Description=node exporter (r000)
        [Service]
        ExecStart=/usr/bin/docker run --rm --net=host quay.io/prometheus/node-exporter
        [Install]
        WantedBy=multi-user.target
`

// smallClusterNode is examples/small-cluster/ignition/node.yaml rendered
// for one machine of three.
const smallClusterNode = `variant: flatcar
version: 1.0.0
passwd:
  users:
    - name: core
      ssh_authorized_keys:
        - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnly node-admin"
storage:
  files:
    - path: /etc/hostname
      mode: 0644
      overwrite: true
      contents:
        inline: node1
    - path: /etc/systemd/network/00-static.network
      mode: 0644
      overwrite: true
      contents:
        inline: |
          [Match]
          MACAddress=52:54:00:a1:9c:ae

          [Network]
          Address=10.0.2.21/24
          Gateway=10.0.2.2
          DNS=10.0.2.3
          Domains=example.com
    - path: /etc/flatcar/update.conf
      mode: 0644
      overwrite: true
      contents:
        inline: |
          GROUP=stable
          REBOOT_STRATEGY=etcd-lock
          LOCKSMITHD_ENDPOINT=http://127.0.0.1:2379
systemd:
  units:
    - name: etcd-member.service
      enabled: true
      dropins:
        - name: 20-provisiond-etcd-member.conf
          contents: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.17"
            Environment="ETCD_NAME=node1"
            ExecStart=
            ExecStart=/usr/lib/coreos/etcd-wrapper $ETCD_OPTS \
              --name=node1 \
              --listen-peer-urls=http://10.0.2.21:2380 \
              --listen-client-urls=http://0.0.0.0:2379,http://0.0.0.0:4001 \
              --initial-advertise-peer-urls=http://10.0.2.21:2380 \
              --advertise-client-urls=http://10.0.2.21:2379,http://10.0.2.21:4001 \
              --initial-cluster=node1=http://10.0.2.21:2380,node2=http://10.0.2.22:2380,node3=http://10.0.2.23:2380 \
              --initial-cluster-token=cluster-1 \
              --initial-cluster-state=new
    - name: docker.service
      enabled: true
`

const flatcarHead = "variant: flatcar\nversion: 1.0.0\n"

// butaneCases are inputs for every outcome of a translation: accepted with
// no finding, accepted with warnings (from Butane, and from Ignition's
// validation of the generated config, which the reference reports twice),
// refused by Butane on the source, refused by Butane's validation of the
// Ignition it generated, and refused by the version policy.
var butaneCases = []struct {
	name string
	src  string
	want string // "ok", "warn" or "error"
	msg  string // in the error, or in one of the warnings
}{
	{"matchbox-node", matchboxNode, "ok", ""},
	{"small-cluster-node", smallClusterNode, "ok", ""},
	{"flatcar-1.1", "variant: flatcar\nversion: 1.1.0\npasswd:\n  users:\n    - name: core\n", "ok", ""},
	{"fcos-1.6", "variant: fcos\nversion: 1.6.0\nstorage:\n  files:\n    - path: /etc/x\n      contents:\n        inline: x\n", "ok", ""},
	{"fcos-1.7", "variant: fcos\nversion: 1.7.0\n", "ok", ""},
	{"fcos-1.0", "variant: fcos\nversion: 1.0.0\n", "ok", ""},
	{"r4e-1.1", "variant: r4e\nversion: 1.1.0\n", "ok", ""},
	{"fiot-1.0", "variant: fiot\nversion: 1.0.0\n", "ok", ""},
	{"openshift-raw-ignition-config", "variant: openshift\nversion: 4.22.0\nmetadata:\n  name: x\n  labels:\n    machineconfiguration.openshift.io/role: worker\nignition:\n  config:\n    merge:\n      - source: http://example.com/x.ign\n", "error", "invalid character"},
	{"ignition-config-merge", flatcarHead + "ignition:\n  config:\n    merge:\n      - source: http://example.com/x.ign\n", "ok", ""},
	{"ignition-timeouts", flatcarHead + "ignition:\n  timeouts:\n    http_total: 10\n", "ok", ""},
	{"experimental-flatcar", "variant: flatcar\nversion: 1.2.0-experimental\n", "error", "experimental"},
	{"experimental-fcos", "variant: fcos\nversion: 1.8.0-experimental\nstorage:\n  files:\n    - path: /etc/x\n", "error", "experimental"},
	{"experimental-with-warning", "variant: fcos\nversion: 1.8.0-experimental\nstorage:\n  files:\n    - path: /etc/x\n      mode: 644\n", "error", "experimental"},
	{"openshift-machineconfig", "variant: openshift\nversion: 4.22.0\nmetadata:\n  name: x\n  labels:\n    machineconfiguration.openshift.io/role: worker\n", "error", "invalid character"},
	{"file-mode-too-large", flatcarHead + "storage:\n  files:\n    - path: /etc/x\n      mode: 010000\n", "error", "illegal file mode"},
	{"duplicate-file-path", flatcarHead + "storage:\n  files:\n    - path: /etc/x\n    - path: /etc/x\n", "error", "duplicate"},
	{"file-and-directory-same-path", flatcarHead + "storage:\n  files:\n    - path: /etc/x\n  directories:\n    - path: /etc/x\n", "error", "duplicate"},
	{"unit-name-no-type", flatcarHead + "systemd:\n  units:\n    - name: foo\n      contents: \"[Service]\\n\"\n", "error", "unit"},
	{"bad-source-url", flatcarHead + "storage:\n  files:\n    - path: /etc/x\n      contents:\n        source: \"ht tp://x\"\n", "error", "url"},
	{"unknown-url-scheme", flatcarHead + "storage:\n  files:\n    - path: /etc/x\n      contents:\n        source: gopher://x/y\n", "error", "scheme"},
	{"overwrite-without-contents", flatcarHead + "storage:\n  files:\n    - path: /etc/x\n      overwrite: true\n", "error", "overwrite"},
	{"bad-unit-contents", flatcarHead + "systemd:\n  units:\n    - name: foo.service\n      contents: \"[Service\\n\"\n", "error", ""},
	{"hash-bad", flatcarHead + "storage:\n  files:\n    - path: /etc/x\n      contents:\n        source: http://example.com/x\n        verification:\n          hash: md5-abc\n", "error", "hash"},
	{"link-relative-target-ok", flatcarHead + "storage:\n  links:\n    - path: /etc/l\n      target: x\n", "ok", ""},
	{"decimal-mode", flatcarHead + "storage:\n  files:\n    - path: /etc/x\n      mode: 644\n", "warn", "octal"},
	{"setuid-mode-spec-3.3", flatcarHead + "storage:\n  files:\n    - path: /etc/x\n      mode: 04755\n      contents:\n        inline: x\n", "warn", "setuid"},
	{"enabled-template-unit-no-install", flatcarHead + "systemd:\n  units:\n    - name: foo@.service\n      enabled: true\n      contents: \"[Service]\\nExecStart=/bin/true\\n\"\n", "warn", "install"},
	{"enabled-unit-no-install", flatcarHead + "systemd:\n  units:\n    - name: foo.service\n      enabled: true\n      contents: \"[Service]\\nExecStart=/bin/true\\n\"\n", "warn", "install"},
	{"insecure-proxy", flatcarHead + "ignition:\n  proxy:\n    https_proxy: http://proxy.example.com\n", "warn", "insecure"},
	{"warning-and-error", flatcarHead + "storage:\n  files:\n    - path: /etc/x\n      mode: 644\n    - path: /etc/x\n", "error", "duplicate"},
	{"unused-key", flatcarHead + "storage:\n  filez: []\n", "error", "filez"},
	{"yaml-syntax", flatcarHead + "storage: [\n", "error", ""},
	{"container-linux-config", "storage:\n  files:\n    - path: /etc/x\n", "error", "Container Linux"},
	{"empty", "", "error", ""},
}

func TestButaneAgreesWithCheck(t *testing.T) {
	for _, tc := range butaneCases {
		t.Run(tc.name, func(t *testing.T) {
			diff, out, ws, err := sameTranslation([]byte(tc.src))
			if diff != "" {
				t.Fatal(diff)
			}
			got := "ok"
			switch {
			case err != nil:
				got = "error"
			case len(ws) > 0:
				got = "warn"
			}
			if got != tc.want {
				t.Fatalf("outcome %s (warnings %q, error %v), want %s", got, ws, err, tc.want)
			}
			switch got {
			case "ok":
				// Accepted without warnings: the case the change is for,
				// which must not need the full check.
				v, ok := generatedVersion(out)
				if _, exact := exactParsers[v]; !ok || !exact {
					t.Errorf("version of %s read as %q, %v: the full check runs again", out, v, ok)
				}
			case "warn":
				if !slices.ContainsFunc(ws, func(w Warning) bool { return strings.Contains(strings.ToLower(string(w)), tc.msg) }) {
					t.Errorf("no warning mentions %q: %q", tc.msg, ws)
				}
			case "error":
				if !errors.Is(err, ErrIgnition) {
					t.Errorf("error %v does not wrap ErrIgnition", err)
				}
				if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.msg)) {
					t.Errorf("error %q does not mention %q", err, tc.msg)
				}
			}
		})
	}
}

// TestGeneratedVersion: the version is read from Butane's output as the
// full parse reads it, and anything not shaped like Butane's output is
// left to the full check.
func TestGeneratedVersion(t *testing.T) {
	for raw, want := range map[string]string{
		`{"ignition":{"version":"3.3.0"}}`:                                           "3.3.0",
		`{"ignition":{"config":{"merge":[{"source":"x"}]},"version":"3.4.0"},"x":1}`: "3.4.0",
		`{"ignition":{"version":"3.7.0-experimental"}}`:                              "3.7.0-experimental",
		`{"ignition":{"version":"3.\u0033.0"}}`:                                      "3.3.0",
	} {
		v, ok := generatedVersion([]byte(raw))
		if !ok || v != want {
			t.Errorf("generatedVersion(%s) = %q, %v, want %q", raw, v, ok, want)
		}
	}
	for _, raw := range []string{
		``, `[]`, `{}`, `{"storage":{},"ignition":{"version":"3.3.0"}}`, `{"ignition":{}}`,
		`{"ignition":{"version":""}}`, `{"ignition":"3.3.0"}`, `{"ignition":{"version":3}}`,
		"# Generated by Butane; do not edit\napiVersion: v1\n",
	} {
		if v, ok := generatedVersion([]byte(raw)); ok {
			t.Errorf("generatedVersion(%s) = %q, true; want the full check", raw, v)
		}
	}
}

// FuzzButaneAgreesWithCheck: whatever the Butane, the new path accepts
// exactly what the reference (translate, then CheckIgnition) accepts, with
// the same output bytes, warnings and error.
func FuzzButaneAgreesWithCheck(f *testing.F) {
	for _, tc := range butaneCases {
		f.Add([]byte(tc.src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<14 {
			return
		}
		if diff, _, _, _ := sameTranslation(src); diff != "" {
			t.Fatalf("%s\nsource:\n%s", diff, src)
		}
	})
}

// BenchmarkButaneToIgnition translates the matchbox-shape node config of a
// boot storm, by the reference path (Butane, then CheckIgnition) and by
// ButaneToIgnition.
func BenchmarkButaneToIgnition(b *testing.B) {
	for _, bc := range []struct {
		name string
		f    func([]byte) ([]byte, []Warning, error)
	}{{"old", referenceButaneToIgnition}, {"new", ButaneToIgnition}} {
		for _, in := range []struct{ name, src string }{{"matchbox", matchboxNode}, {"small-cluster", smallClusterNode}} {
			b.Run(bc.name+"/"+in.name, func(b *testing.B) {
				src := []byte(in.src)
				b.ReportAllocs()
				cpu0 := processCPU()
				for b.Loop() {
					if _, ws, err := bc.f(src); err != nil || len(ws) > 0 {
						b.Fatal(ws, err)
					}
				}
				// CPU time (user+system, garbage collection included) per
				// translation: on a shared machine, ns/op also counts time
				// spent waiting for the core.
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// processCPU is the CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
