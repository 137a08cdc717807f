package lifecycle

import "github.com/provisiond/provisiond/bmc"

// The JSON bodies of the admin API's lifecycle requests and answers,
// shared by the handlers and the CLI client.

// StateRequest is the body of POST /api/v1/machines/{name}/state.
type StateRequest struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// ReprovisionRequest is the body of POST /api/v1/machines/{name}/reprovision
// (optional).
type ReprovisionRequest struct {
	Reason string `json:"reason,omitempty"`
}

// PowerRequest is the body of POST /api/v1/machines/{name}/power.
type PowerRequest struct {
	Op string `json:"op"`
}

// PowerAnswer answers it: the state the BMC reports (status) or the one
// asked for (on, off, cycle).
type PowerAnswer struct {
	Machine string         `json:"machine"`
	Power   bmc.PowerState `json:"power"`
}
