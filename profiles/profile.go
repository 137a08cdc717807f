package profiles

import (
	"errors"
	"fmt"
	"github.com/provisiond/provisiond/internal/invalid"

	"github.com/provisiond/provisiond/internal/strictjson"
)

// ErrInvalid is returned (wrapped) for a profile that is not well formed.
var ErrInvalid = errors.New("invalid profile")

// Profile names what a machine boots: a kernel, initrds and kernel
// arguments, and the names of its Ignition, cloud-config and generic
// templates. The JSON form is matchbox's.
type Profile struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Boot       Boot   `json:"boot"`
	IgnitionID string `json:"ignition_id,omitempty"`
	CloudID    string `json:"cloud_id,omitempty"`
	GenericID  string `json:"generic_id,omitempty"`
	// InstallOnce: the profile is an installer; a machine that is
	// installed (see inventory.BootDisk) is answered a script that boots
	// its local disk instead, until it is marked for reprovisioning.
	InstallOnce bool `json:"install_once,omitempty"`
}

// Boot is a profile's network-boot fields. Each string is a template
// rendered with the request's data (matchbox emits them verbatim).
type Boot struct {
	Kernel string   `json:"kernel,omitempty"`
	Initrd []string `json:"initrd,omitempty"`
	Args   []string `json:"args,omitempty"`
}

// Decode parses a profile from JSON. Unknown fields are an error: a
// misspelled "ignition_id" would otherwise silently serve nothing.
func Decode(data []byte) (*Profile, error) {
	var p Profile
	if err := strictjson.Decode(data, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if p.ID == "" {
		return nil, invalid.Field("id", fmt.Errorf("%w: id is required", ErrInvalid))
	}
	return &p, nil
}
