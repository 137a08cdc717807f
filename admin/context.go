package admin

import (
	"context"
)

// reqInfo collects what the admin request log line reports beyond the
// request itself; adminLog puts it into the request's context, and
// authenticate and writeAPIError fill it in.
type reqInfo struct {
	who string // the caller's identity ("" without authentication)
	err error  // the cause of an error answer
}

type infoKey struct{}

func withInfo(ctx context.Context, i *reqInfo) context.Context {
	return context.WithValue(ctx, infoKey{}, i)
}

// infoFrom returns the request's log info, or nil outside adminLog.
func infoFrom(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}

// identityFrom returns who made the request ("" without authentication).
func identityFrom(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.who
	}
	return ""
}
