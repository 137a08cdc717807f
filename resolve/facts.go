package resolve

import (
	"net/url"
	"strings"

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
	if f, ok, err := parseParams(rawQuery); ok {
		return f, err
	}
	q, _ := url.ParseQuery(rawQuery)
	return FromValues(q, rawQuery)
}

// fastParams is the most parameters parseParams takes: a boot request
// has about six; more go through url.ParseQuery. It is far below
// url.ParseQuery's own limit (GODEBUG urlmaxqueryparams, 10,000), where a
// query would parse as empty.
const fastParams = 16

// parseParams is ParseQuery for a query of at most fastParams parameters:
// it splits and unescapes them as url.ParseQuery does (a parameter with a
// semicolon or a malformed escape is dropped) into a buffer on the stack
// and gives them to groups.FromParams, without building url.Values. ok is
// false for a longer query. FuzzParseQueryFast checks that it agrees with
// url.ParseQuery and FromValues.
func parseParams(rawQuery string) (f Facts, ok bool, err error) {
	if strings.Count(rawQuery, "&") >= fastParams {
		return Facts{}, false, nil
	}
	var buf [fastParams]groups.Param
	ps := buf[:0]
	token, haveToken := "", false
	for q := rawQuery; q != ""; {
		var key string
		key, q, _ = strings.Cut(q, "&")
		if key == "" || strings.Contains(key, ";") {
			continue
		}
		key, value, _ := strings.Cut(key, "=")
		key, err1 := url.QueryUnescape(key)
		if err1 != nil {
			continue
		}
		value, err1 = url.QueryUnescape(value)
		if err1 != nil {
			continue
		}
		if key == "token" && !haveToken {
			token, haveToken = value, true
		}
		ps = append(ps, groups.Param{Key: key, Value: value})
	}
	labels, err := groups.FromParams(ps)
	if err != nil {
		return Facts{}, true, err
	}
	return Facts{Labels: labels, MAC: labels.MAC(), Token: token, RawQuery: rawQuery}, true, nil
}

// FromValues is ParseQuery for a query that is already split.
func FromValues(q url.Values, rawQuery string) (Facts, error) {
	labels, err := groups.FromQuery(q)
	if err != nil {
		return Facts{}, err
	}
	return Facts{Labels: labels, MAC: labels.MAC(), Token: q.Get("token"), RawQuery: rawQuery}, nil
}
