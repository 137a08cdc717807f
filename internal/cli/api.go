package cli

import (
	"github.com/provisiond/provisiond/admin"
	"github.com/provisiond/provisiond/internal/tokenfile"
	"github.com/provisiond/provisiond/inventory"
)

// The admin API's wire types, named once: the client decodes what the
// server encodes.
type (
	errorBody     = admin.ErrorBody
	machineView   = admin.MachineView
	leaseView     = admin.LeaseView
	templateInfo  = admin.TemplateInfo
	catalogChange = admin.CatalogChange
	selectResult  = admin.SelectResult
	eventView     = inventory.Event
)

// readTokenFile reads a token file as the server does.
var readTokenFile = tokenfile.Read
