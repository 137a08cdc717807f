package cli

import (
	"github.com/provisiond/provisiond/inventory"
	"github.com/provisiond/provisiond/server"
)

// The admin API's wire types, named once: the client decodes what the
// server encodes.
type (
	errorBody     = server.ErrorBody
	machineView   = server.MachineView
	leaseView     = server.LeaseView
	templateInfo  = server.TemplateInfo
	catalogChange = server.CatalogChange
	selectResult  = server.SelectResult
	eventView     = inventory.Event
)

// readTokenFile reads a token file as the server does.
var readTokenFile = server.ReadTokenFile
