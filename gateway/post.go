package gateway

import (
	"net/http"

	"github.com/coffer-io/coffer/gateway/internal/wire"
)

// postObject is POST Object (browser form upload, cos-api.md 5.9).
func (s *Server) postObject(w http.ResponseWriter, q *request) error {
	return wire.Errorf(wire.ErrNotImplemented, "POST Object form uploads are not available yet")
}
