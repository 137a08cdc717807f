package storage

import "errors"

// UnavailableError is an ErrUnavailable that names the store it came
// from, so that a transport can tell the client which store could not
// write ("bbolt file /var/lib/provisiond/provisiond.db", "etcd") while
// the log keeps the cause. Timed wraps its store's ErrUnavailable errors
// in one when it has a Name. Its message is the cause's, unchanged.
type UnavailableError struct {
	Store string
	Err   error
}

func (e *UnavailableError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, which is ErrUnavailable.
func (e *UnavailableError) Unwrap() error { return e.Err }

// UnavailableMessage is what a client is told about err, an
// ErrUnavailable: the store (when an UnavailableError names it), that the
// write can be tried again, and that the server log has the cause (a full
// disk, a lost quorum, a closed store).
func UnavailableMessage(err error) string {
	store := "store unavailable"
	var ue *UnavailableError
	if errors.As(err, &ue) && ue.Store != "" {
		store += " (" + ue.Store + ")"
	}
	return store + ": cannot write now, try again; the server log has the cause"
}

// named wraps err, when it is an ErrUnavailable, in an UnavailableError
// naming t's store.
func (t *Timed) named(err error) error {
	if err == nil || t.Name == "" || !errors.Is(err, ErrUnavailable) {
		return err
	}
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return err
	}
	return &UnavailableError{Store: t.Name, Err: err}
}
