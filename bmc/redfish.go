package bmc

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// The Redfish driver speaks the few requests it needs with net/http,
// against the DMTF's schema (ServiceRoot, ComputerSystemCollection,
// ComputerSystem, its Reset action and Boot property), rather than
// through a client library: gofish, the well-kept Go one, is not among
// the versions this project can fetch, and what provisiond needs is four
// requests. It logs in with HTTP Basic authentication on every request,
// which every Redfish service must accept, so there is no session to
// leak.

// maxRedfishBody bounds a Redfish answer read.
const maxRedfishBody = 1 << 20

type redfishSession struct {
	base   string // scheme://host:port
	cred   Credentials
	hc     *http.Client
	system string // the ComputerSystem's path
	reset  string // its Reset action's target
	resets []string
}

func dialRedfish(ctx context.Context, cfg Config, cred Credentials) (Session, error) {
	hp, scheme, err := cfg.hostPort()
	if err != nil {
		return nil, fmt.Errorf("%w: bmc.address: %v", ErrConfig, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if cfg.Insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the operator asked: bmc.insecure
	}
	s := &redfishSession{base: scheme + "://" + hp, cred: cred, hc: &http.Client{Transport: tr}}
	// The service root names the systems collection; its first member is
	// the machine (a BMC manages one system; a multi-node chassis has one
	// BMC address per node).
	var root struct {
		Systems struct {
			ID string `json:"@odata.id"`
		}
	}
	if err := s.do(ctx, http.MethodGet, "/redfish/v1/", nil, &root); err != nil {
		return nil, err
	}
	if root.Systems.ID == "" {
		return nil, fmt.Errorf("%w: the service root lists no Systems", ErrBMC)
	}
	var systems struct {
		Members []struct {
			ID string `json:"@odata.id"`
		}
	}
	if err := s.do(ctx, http.MethodGet, root.Systems.ID, nil, &systems); err != nil {
		return nil, err
	}
	if len(systems.Members) == 0 {
		return nil, fmt.Errorf("%w: %s has no members", ErrBMC, root.Systems.ID)
	}
	s.system = systems.Members[0].ID
	return s, nil
}

type redfishSystem struct {
	PowerState string
	Actions    struct {
		Reset struct {
			Target  string   `json:"target"`
			Allowed []string `json:"ResetType@Redfish.AllowableValues"`
		} `json:"#ComputerSystem.Reset"`
	}
}

func (s *redfishSession) get(ctx context.Context) (redfishSystem, error) {
	var sys redfishSystem
	err := s.do(ctx, http.MethodGet, s.system, nil, &sys)
	s.reset, s.resets = sys.Actions.Reset.Target, sys.Actions.Reset.Allowed
	return sys, err
}

func (s *redfishSession) PowerState(ctx context.Context) (PowerState, error) {
	sys, err := s.get(ctx)
	if err != nil {
		return "", err
	}
	// On, Off, PoweringOn, PoweringOff, Paused: a machine powering on is on
	// as far as a cycle is concerned.
	switch sys.PowerState {
	case "Off", "PoweringOff":
		return PowerOff, nil
	case "":
		return "", fmt.Errorf("%w: %s has no PowerState", ErrBMC, s.system)
	}
	return PowerOn, nil
}

// resetAction posts ComputerSystem.Reset with the first of types the
// system allows (all of them if it does not say).
func (s *redfishSession) resetAction(ctx context.Context, types ...string) error {
	if s.reset == "" {
		if _, err := s.get(ctx); err != nil {
			return err
		}
	}
	if s.reset == "" {
		return fmt.Errorf("%w: %s has no #ComputerSystem.Reset action", ErrBMC, s.system)
	}
	pick := types[0]
	if len(s.resets) > 0 {
		pick = ""
		for _, t := range types {
			if slices.Contains(s.resets, t) {
				pick = t
				break
			}
		}
		if pick == "" {
			return fmt.Errorf("%w: %s allows reset types %v, none of %v", ErrBMC, s.system, s.resets, types)
		}
	}
	return s.do(ctx, http.MethodPost, s.reset, map[string]string{"ResetType": pick}, nil)
}

func (s *redfishSession) SetPower(ctx context.Context, on bool) error {
	if on {
		return s.resetAction(ctx, "On", "ForceOn")
	}
	return s.resetAction(ctx, "ForceOff")
}

func (s *redfishSession) PowerCycle(ctx context.Context) error {
	return s.resetAction(ctx, "PowerCycle", "ForceRestart")
}

func (s *redfishSession) SetBootDevice(ctx context.Context, dev BootDevice, persistent bool) error {
	target := "Hdd"
	if dev == Network {
		target = "Pxe"
	}
	enabled := "Once"
	if persistent {
		enabled = "Continuous"
	}
	body := map[string]any{"Boot": map[string]string{"BootSourceOverrideEnabled": enabled, "BootSourceOverrideTarget": target}}
	return s.do(ctx, http.MethodPatch, s.system, body, nil)
}

func (s *redfishSession) Close(context.Context) error {
	s.hc.CloseIdleConnections()
	return nil
}

// do sends one request; a JSON body in, a JSON answer decoded into out
// (when not nil).
func (s *redfishSession) do(ctx context.Context, method, path string, in, out any) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%w: %q is not a path on the BMC", ErrBMC, path)
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBMC, err)
	}
	req.SetBasicAuth(s.cred.Username, string(s.cred.Password))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-Version", "4.0")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxRedfishBody))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %s %s: the BMC answered %s", ErrCredentials, method, path, resp.Status)
	case resp.StatusCode >= 300:
		return fmt.Errorf("%w: %s %s: %s%s", ErrBMC, method, path, resp.Status, redfishMessage(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%w: %s %s: %v", ErrBMC, method, path, err)
		}
	}
	return nil
}

// redfishMessage extracts the message of a Redfish error answer.
func redfishMessage(raw []byte) string {
	var e struct {
		Error struct {
			Message  string `json:"message"`
			Extended []struct {
				Message string
			} `json:"@Message.ExtendedInfo"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return ""
	}
	if len(e.Error.Extended) > 0 && e.Error.Extended[0].Message != "" {
		return ": " + e.Error.Extended[0].Message
	}
	if e.Error.Message != "" {
		return ": " + e.Error.Message
	}
	return ""
}
