package server

import (
	"context"

	"github.com/provisiond/provisiond/resolve"
)

// reqInfo collects what the request log line reports; handlers fill it in.
// It also keeps the request's facts once parsed (parsed), so that they are
// parsed once per request (see Server.facts).
type reqInfo struct {
	mac, group, profile string
	err                 error
	facts               resolve.Facts
	parsed              bool
}

type infoKey struct{}

func withInfo(ctx context.Context, i *reqInfo) context.Context {
	return context.WithValue(ctx, infoKey{}, i)
}

// infoFrom returns the request's log info, or nil outside the middleware.
func infoFrom(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}
