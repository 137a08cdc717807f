package invalid

import (
	"errors"
	"fmt"
	"testing"
)

func TestFieldOfJoinsTheChain(t *testing.T) {
	base := errors.New("value 1 is not a string")
	tests := []struct {
		name, field, msg string
		err              error
	}{
		{"none", "", "value 1 is not a string", base},
		{"named", "selector.n", "value 1 is not a string", Field("selector.n", base)},
		{"path prefixes its message", "groups[1].selector.n", "groups[1]: value 1 is not a string",
			&FieldError{Field: "groups[1]", Err: fmt.Errorf("%w", Field("selector.n", base))}},
		{"through a conflict", "leases.p", "value 1 is not a string", Conflict("a", "b", Field("leases.p", base))},
		{"empty fields are skipped", "x", "value 1 is not a string", Field("x", Field("", base))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FieldOf(tc.err); got != tc.field {
				t.Errorf("FieldOf = %q, want %q", got, tc.field)
			}
			if tc.err.Error() != tc.msg {
				t.Errorf("message %q, want %q", tc.err.Error(), tc.msg)
			}
			if !errors.Is(tc.err, base) {
				t.Errorf("the cause is lost")
			}
		})
	}
	if Field("x", nil) != nil {
		t.Errorf("Field of nil is not nil")
	}
	var ce *ConflictError
	if !errors.As(fmt.Errorf("w: %w", Conflict("groups/a", "groups/b", base)), &ce) || ce.A != "groups/a" || ce.B != "groups/b" {
		t.Errorf("conflict lost its objects: %+v", ce)
	}
}
