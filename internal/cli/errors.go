package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
)

// UsageError is a command line mistake: exit status 2.
type UsageError struct {
	Msg string
	Err error // the cause, when there is one (Usage)
}

func (e *UsageError) Error() string {
	if e.Msg == "" && e.Err != nil {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *UsageError) Unwrap() error { return e.Err }

// Usage marks err as a usage mistake (a flag's value that is wrong); nil
// stays nil.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &UsageError{Err: err}
}

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Exit prints err as the one error line of the program (provisiond: VERB:
// message) on stderr and returns the exit status: 0 for nil or a help
// request, 2 for a *UsageError, 1 otherwise.
func Exit(stderr io.Writer, verb string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	prefix := "provisiond: "
	if verb != "" {
		prefix += verb + ": "
	}
	fmt.Fprintf(stderr, "%s%s\n", prefix, verbsForRoutes(err.Error()))
	var ue *UsageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// routeVerbs rewrite the admin API routes that the server's messages
// mention into the verbs that do the same, so a CLI user is pointed at
// the CLI.
var routeVerbs = []struct {
	re   *regexp.Regexp
	verb string
}{
	{regexp.MustCompile(`GET /api/v1/select`), "provisiond select"},
	{regexp.MustCompile(`GET /api/v1/render/(\w+)`), "provisiond render $1"},
	{regexp.MustCompile(`PUT /api/v1/machines/([^ )]+)`), "provisiond apply -f machines/$1.json"},
	{regexp.MustCompile(`PUT /api/v1/catalog`), "provisiond apply --prune"},
	{regexp.MustCompile(`POST /api/v1/catalog`), "provisiond apply"},
	{regexp.MustCompile(`GET /api/v1/(\w+)`), "provisiond get $1"},
	{regexp.MustCompile(`PUT /api/v1/(\w+)/([^ )]+)`), "provisiond apply -f $1/$2.json"},
	{regexp.MustCompile(`DELETE /api/v1/(\w+)/([^ )]+)`), "provisiond delete $1 $2"},
}

func verbsForRoutes(msg string) string {
	for _, r := range routeVerbs {
		msg = r.re.ReplaceAllString(msg, r.verb)
	}
	return msg
}
