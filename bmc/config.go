package bmc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Type is a BMC's protocol.
type Type string

// The protocols.
const (
	// IPMI is IPMI v2.0 over LAN (RMCP+, "lanplus"), UDP port 623 unless
	// the address says otherwise.
	IPMI Type = "ipmi"
	// Redfish is the DMTF's REST API over HTTPS.
	Redfish Type = "redfish"
)

func (t Type) String() string { return string(t) }

// Config is a registered machine's BMC, the "bmc" object of
// machines/<name>.json. It holds no secret: the password is read, at each
// use, from the file or the environment variable it names.
type Config struct {
	Type Type `json:"type"`
	// Address is host[:port] (IPMI: port 623 by default; Redfish: 443),
	// or for Redfish a URL, https://host[:port]; http:// only when written
	// out, since it sends the password in the clear.
	Address  string `json:"address"`
	Username string `json:"username,omitempty"`
	// PasswordFile names a file whose content (trailing newline removed) is
	// the password; PasswordEnv names an environment variable of
	// provisiond's that holds it. Exactly one of them.
	PasswordFile string `json:"password_file,omitempty"`
	PasswordEnv  string `json:"password_env,omitempty"`
	// Insecure skips the verification of a Redfish BMC's TLS certificate
	// (most BMCs ship a self-signed one).
	Insecure bool `json:"insecure,omitempty"`
}

// ErrConfig is returned (wrapped) for a BMC configuration that is not
// well formed; the message names the field.
var ErrConfig = errors.New("invalid bmc")

// Validate checks the configuration, naming the field at fault
// ("bmc.address: ...").
func (c *Config) Validate() error {
	switch c.Type {
	case IPMI, Redfish:
	case "":
		return fmt.Errorf("%w: bmc.type is required (ipmi or redfish)", ErrConfig)
	default:
		return fmt.Errorf("%w: bmc.type %q: want ipmi or redfish", ErrConfig, c.Type)
	}
	if c.Address == "" {
		return fmt.Errorf("%w: bmc.address is required", ErrConfig)
	}
	if _, _, err := c.hostPort(); err != nil {
		return fmt.Errorf("%w: bmc.address %q: %v", ErrConfig, c.Address, err)
	}
	if c.Insecure && c.Type != Redfish {
		return fmt.Errorf("%w: bmc.insecure is for redfish only (IPMI has no TLS)", ErrConfig)
	}
	switch {
	case c.PasswordFile != "" && c.PasswordEnv != "":
		return fmt.Errorf("%w: bmc.password_file and bmc.password_env: give one of them", ErrConfig)
	case c.PasswordFile == "" && c.PasswordEnv == "":
		return fmt.Errorf("%w: bmc.password_file or bmc.password_env is required (the password itself is never stored)", ErrConfig)
	}
	if c.Type == IPMI && len(c.Username) > 16 {
		return fmt.Errorf("%w: bmc.username: IPMI user names have at most 16 characters", ErrConfig)
	}
	return nil
}

// hostPort returns the host and port the BMC is reached at, and for
// Redfish the URL scheme.
func (c *Config) hostPort() (hostport, scheme string, err error) {
	addr := c.Address
	scheme = "https"
	if c.Type != Redfish && strings.Contains(addr, "://") {
		return "", "", errors.New("want host[:port] (a URL is for redfish)")
	}
	if c.Type == Redfish && strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil {
			return "", "", err
		}
		if u.Scheme != "https" && u.Scheme != "http" {
			return "", "", fmt.Errorf("scheme %q: want https (or http)", u.Scheme)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return "", "", errors.New("give the scheme, host and port only")
		}
		scheme, addr = u.Scheme, u.Host
	}
	port := "623"
	if c.Type == Redfish {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
		if strings.ContainsAny(host, "/?#@ ") || host == "" {
			return "", "", errors.New("want host[:port]")
		}
	} else {
		if host == "" {
			return "", "", errors.New("no host")
		}
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", "", fmt.Errorf("port %q", p)
		}
		port = p
	}
	return net.JoinHostPort(host, port), scheme, nil
}

// String describes the BMC without its credentials' source.
func (c Config) String() string {
	return fmt.Sprintf("%s %s", c.Type, c.Address)
}

// Secret is a password. Its String, GoString, MarshalJSON and LogValue
// all say "[redacted]", so that printing, logging or serializing a
// Credentials never shows it.
type Secret string

const redacted = "[redacted]"

func (Secret) String() string                  { return redacted }
func (Secret) GoString() string                { return `"` + redacted + `"` }
func (Secret) MarshalJSON() ([]byte, error)    { return []byte(`"` + redacted + `"`), nil }
func (Secret) MarshalText() ([]byte, error)    { return []byte(redacted), nil }
func (Secret) LogValue() slog.Value            { return slog.StringValue(redacted) }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// Credentials are what a BMC session logs in with.
type Credentials struct {
	Username string `json:"username"`
	Password Secret `json:"password"`
}

// Source reads passwords. The zero value reads the process's environment
// and files.
type Source struct {
	// LookupEnv defaults to os.LookupEnv; ReadFile to os.ReadFile.
	LookupEnv func(string) (string, bool)
	ReadFile  func(string) ([]byte, error)
}

// ErrCredentials is returned (wrapped) when the password cannot be read,
// or when the BMC refuses the user name or password.
var ErrCredentials = errors.New("bmc credentials")

// Credentials reads c's password, at the moment of use (a rotated file
// is picked up without a restart). The error names the file or variable,
// never its content.
func (s Source) Credentials(c Config) (Credentials, error) {
	cred := Credentials{Username: c.Username}
	switch {
	case c.PasswordFile != "":
		read := s.ReadFile
		if read == nil {
			read = os.ReadFile
		}
		b, err := read(c.PasswordFile)
		if err != nil {
			return cred, fmt.Errorf("%w: bmc.password_file: %v", ErrCredentials, err)
		}
		cred.Password = Secret(strings.TrimRight(string(b), "\r\n"))
	case c.PasswordEnv != "":
		look := s.LookupEnv
		if look == nil {
			look = os.LookupEnv
		}
		v, ok := look(c.PasswordEnv)
		if !ok {
			return cred, fmt.Errorf("%w: bmc.password_env: %s is not set in provisiond's environment", ErrCredentials, c.PasswordEnv)
		}
		cred.Password = Secret(v)
	default:
		return cred, fmt.Errorf("%w: bmc.password_file or bmc.password_env is required", ErrCredentials)
	}
	return cred, nil
}
