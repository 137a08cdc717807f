package admin

import "net/http"

// backup answers GET and HEAD /api/v1/backup with Config.Backup (a
// bolt.Store's BackupHandler: a consistent copy of the database, streamed
// from one read transaction). Without one (the etcd store) it answers 501
// naming etcd's own snapshots, which are that store's backup.
func (a *API) backup(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Backup == nil {
		writeAPIError(w, r, &apiError{Code: http.StatusNotImplemented,
			Msg: "this server's store has no backup route: with --store etcd, back up etcd itself with `etcdctl snapshot save FILE` (docs/backup.md, \"The etcd store\")"})
		return
	}
	a.cfg.Backup.ServeHTTP(w, r)
}
