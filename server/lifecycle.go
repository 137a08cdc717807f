package server

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/provisiond/provisiond/inventory"
)

// Reporter takes a machine's own report that its install finished or
// failed (a *lifecycle.Service). Report returns the machine's record
// after it; inventory.ErrTransition (wrapped) for a report its state
// refuses (a stale one, while reprovisioning), the record being returned
// all the same.
type Reporter interface {
	Report(ctx context.Context, mac, uuid string, st inventory.State, remote string) (inventory.Machine, error)
}

// report answers POST /installed and POST /failed: the machine (by the
// query's mac, else uuid) reports st. With boot tokens on, requireToken
// has checked the token for the mac before. The answer is the machine's
// record as JSON, or the error as text with its status from toHTTP.
func (s *Server) report(st inventory.State) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := s.facts(w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		mac, uuid := string(f.MAC), f.Labels["uuid"]
		if info := infoFrom(w); info != nil {
			info.mac = mac
		}
		if mac == "" && uuid == "" {
			writeError(w, r, &httpError{Code: http.StatusBadRequest, Msg: "a mac (or uuid) is required: " + r.URL.Path + "?mac=MAC"})
			return
		}
		m, err := s.cfg.Lifecycle.Report(r.Context(), mac, uuid, st, r.RemoteAddr)
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(m); err != nil {
			s.log.Debug("report: writing the response", "err", err)
		}
	}
}
