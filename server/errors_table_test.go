package server

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/provisiond/provisiond/internal/httperr"
)

// TestToHTTPFollowsTable: the boot server answers every sentinel of
// httperr.Table with the table's status (500 for the admin-only kinds).
// admin's TestToAPIFollowsTable checks the admin API against the same
// rows, so the two listeners agree on every sentinel they both answer.
func TestToHTTPFollowsTable(t *testing.T) {
	for _, k := range httperr.Table {
		t.Run(k.Name, func(t *testing.T) {
			want := k.Status
			if k.AdminOnly {
				want = http.StatusInternalServerError
			}
			err := fmt.Errorf("%w: some words", k.Err)
			if he := toHTTP(err); he.Code != want || he.Err != err {
				t.Errorf("toHTTP(%v) = %d (cause %v), want %d", err, he.Code, he.Err, want)
			}
		})
	}
}
