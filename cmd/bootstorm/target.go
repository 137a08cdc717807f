package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
)

// checkLoopback refuses any target that is not on this host: bootstorm is
// a load generator and must never be pointed at someone else's server.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return fmt.Errorf("%q: want an http:// URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: only loopback targets (127.0.0.0/8, ::1, localhost) are allowed", raw)
	}
	return nil
}

const pinnedEnv = "BOOTSTORM_PINNED"

// pinSelf runs a copy of bootstorm under `taskset -c cpus` and reports its
// exit code, so that the load (and the wrk it starts) stays off the
// server's CPU. It does nothing (ran false) when cpus is empty, when this
// process is that copy, or when taskset is missing (err set).
func pinSelf(cpus string, args []string, stdout, stderr io.Writer) (code int, ran bool, err error) {
	if cpus == "" || os.Getenv(pinnedEnv) != "" {
		return 0, false, nil
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return 0, false, err
	}
	self, err := os.Executable()
	if err != nil {
		return 0, false, err
	}
	cmd := exec.Command(taskset, append([]string{"-c", cpus, self}, args...)...)
	cmd.Env = append(os.Environ(), pinnedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), true, nil
	}
	if err != nil {
		return 0, false, err
	}
	return 0, true, nil
}
