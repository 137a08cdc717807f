package resolve

import (
	"net/url"

	"github.com/provisiond/provisiond/groups"
)

// Facts are what a request says about the machine, parsed once: its
// labels (groups.FromQuery: keys lowercased, mac normalized, uuid checked),
// its mac as a groups.MAC, and what the templates see of the request
// itself.
type Facts struct {
	// Labels are the query's labels; Labels["mac"] is MAC's string form.
	Labels groups.Labels
	// MAC is the queried mac ("" when the query has none): the mac a
	// boot token binds to, and the one a registered machine is found by.
	MAC groups.MAC
	// Token is the query's token parameter: the boot token it carries.
	Token string
	// RawQuery is the query string as sent (.request.raw_query).
	RawQuery string
	// ServerURL is the scheme and host the machine reached us at
	// (.server.url); the transport sets it.
	ServerURL string
}

// ParseQuery parses a query string into Facts, with groups.FromQuery's
// checks and bounds: groups.ErrBadMAC, ErrBadUUID or ErrBadLabels when it
// fails them. Malformed escapes drop the parameter, as net/url does.
func ParseQuery(rawQuery string) (Facts, error) {
	q, _ := url.ParseQuery(rawQuery)
	return FromValues(q, rawQuery)
}

// FromValues is ParseQuery for a query that is already split.
func FromValues(q url.Values, rawQuery string) (Facts, error) {
	labels, err := groups.FromQuery(q)
	if err != nil {
		return Facts{}, err
	}
	return Facts{Labels: labels, MAC: labels.MAC(), Token: q.Get("token"), RawQuery: rawQuery}, nil
}
