package admin

import (
	"context"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/provisiond/provisiond/bmc"
	"github.com/provisiond/provisiond/groups"
	"github.com/provisiond/provisiond/internal/strictjson"
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/lifecycle"
)

// Lifecycle carries out operators' lifecycle commands (a
// *lifecycle.Service): marks, reprovisioning and power. Its errors are
// mapped with lifecycle.Status (see lifecycleError).
type Lifecycle interface {
	SetState(ctx context.Context, m lifecycle.Machine, st inventory.State, reason string) (inventory.Machine, error)
	Reprovision(ctx context.Context, m lifecycle.Machine, reason string) (lifecycle.Reprovisioned, error)
	Power(ctx context.Context, m lifecycle.Machine, op bmc.Op) (bmc.PowerState, error)
}

// lifecycleError is an error of the lifecycle service; toAPI answers it
// with lifecycle.Status, the lifecycle's own mapping (409 no bmc, 502 the
// BMC refused, 504 it did not answer, ...).
type lifecycleError struct{ err error }

func (e *lifecycleError) Error() string { return e.err.Error() }
func (e *lifecycleError) Unwrap() error { return e.err }

// lifecycleMachine finds the machine {name} names: a registered machine by
// name (with its bmc), or a machine only seen, by mac or uuid.
func (a *API) lifecycleMachine(r *http.Request) (lifecycle.Machine, error) {
	id := chi.URLParam(r, "name")
	if snap := a.cfg.Catalogs.Current(); snap != nil {
		if m, ok := registration(snap.Catalog, id); ok {
			return lifecycle.Machine{Name: m.Name, MAC: m.MAC, UUID: m.UUID, BMC: m.BMC}, nil
		}
	}
	mac, _ := groups.ParseMAC(id)
	uuid, _ := groups.ParseUUID(id)
	for _, v := range a.machineViews() {
		if !v.Registered && ((mac != "" && v.MAC == mac) || (uuid != "" && v.UUID == uuid)) {
			return lifecycle.Machine{MAC: v.MAC, UUID: v.UUID}, nil
		}
	}
	return lifecycle.Machine{}, &apiError{Code: http.StatusNotFound, Msg: "machine " + id + " is neither registered nor seen"}
}

// lifecycleRequest reads the machine and the JSON body into v; an empty
// body is allowed when optional.
func (a *API) lifecycleRequest(w http.ResponseWriter, r *http.Request, v any, optional bool) (lifecycle.Machine, bool) {
	if a.cfg.Lifecycle == nil {
		writeAPIError(w, r, &apiError{Code: http.StatusServiceUnavailable, Msg: "the machine lifecycle is not configured on this server"})
		return lifecycle.Machine{}, false
	}
	m, err := a.lifecycleMachine(r)
	if err != nil {
		writeAPIError(w, r, err)
		return m, false
	}
	body, err := io.ReadAll(r.Body)
	if err == nil && !(optional && len(body) == 0) {
		err = strictjson.Decode(body, v)
	}
	if err != nil {
		writeAPIError(w, r, err)
		return m, false
	}
	return m, true
}

// setState answers POST /api/v1/machines/{name}/state: an operator's mark.
func (a *API) setState(w http.ResponseWriter, r *http.Request) {
	var req lifecycle.StateRequest
	m, ok := a.lifecycleRequest(w, r, &req, false)
	if !ok {
		return
	}
	st, err := inventory.ParseState(req.State)
	if err != nil {
		writeAPIError(w, r, &apiError{Code: http.StatusBadRequest, Msg: err.Error(), Field: "state", Err: err})
		return
	}
	rec, err := a.cfg.Lifecycle.SetState(r.Context(), m, st, req.Reason)
	if err != nil {
		writeAPIError(w, r, &lifecycleError{err})
		return
	}
	a.log.Info("machine marked", "machine", m.String(), "state", st, "who", identityFrom(r.Context()))
	writeJSON(w, http.StatusOK, rec)
}

// reprovision answers POST /api/v1/machines/{name}/reprovision.
func (a *API) reprovision(w http.ResponseWriter, r *http.Request) {
	var req lifecycle.ReprovisionRequest
	m, ok := a.lifecycleRequest(w, r, &req, true)
	if !ok {
		return
	}
	res, err := a.cfg.Lifecycle.Reprovision(r.Context(), m, req.Reason)
	if err != nil {
		writeAPIError(w, r, &lifecycleError{err})
		return
	}
	a.log.Info("machine reprovisioned", "machine", m.String(), "power_cycled", res.PowerCycled, "who", identityFrom(r.Context()))
	writeJSON(w, http.StatusOK, res)
}

// power answers POST /api/v1/machines/{name}/power.
func (a *API) power(w http.ResponseWriter, r *http.Request) {
	var req lifecycle.PowerRequest
	m, ok := a.lifecycleRequest(w, r, &req, false)
	if !ok {
		return
	}
	op, err := bmc.ParseOp(req.Op)
	if err != nil {
		writeAPIError(w, r, &apiError{Code: http.StatusBadRequest, Msg: err.Error(), Field: "op", Err: err})
		return
	}
	st, err := a.cfg.Lifecycle.Power(r.Context(), m, op)
	if err != nil {
		writeAPIError(w, r, &lifecycleError{err})
		return
	}
	if op != bmc.Status {
		a.log.Info("machine power", "machine", m.String(), "op", op, "who", identityFrom(r.Context()))
	}
	writeJSON(w, http.StatusOK, lifecycle.PowerAnswer{Machine: m.String(), Power: st})
}
