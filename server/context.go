package server

import "context"

// reqInfo collects what the request log line reports; handlers fill it in.
type reqInfo struct {
	mac, group, profile string
	err                 error
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
