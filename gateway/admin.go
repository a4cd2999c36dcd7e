package gateway

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/coffer-io/coffer/gateway/internal/wire"
)

// The admin API lives under AdminPrefix on the same listeners as the COS API. Every
// admin request is signed like any COS or S3 request (COS q-sign or SigV4) by a user
// with the Admin flag; bodies and answers are JSON. Endpoints register themselves in
// adminRoutes from the file that implements them, keyed by "METHOD /path" relative to
// AdminPrefix (e.g. "POST /kms/keys").

// AdminPrefix is the path prefix of the admin API.
const AdminPrefix = "/-/admin/v1/"

// adminBodyMax bounds an admin request body in bytes.
const adminBodyMax = 1 << 20

// adminHandler serves one admin endpoint; rest is the path after the route's own
// path (for routes registered with a trailing "/"), already unescaped.
type adminHandler func(s *Server, w http.ResponseWriter, q *request, rest string) error

// adminRoutes maps "METHOD /path" to its handler. A path ending in "/" matches every
// path below it. Filled by init functions; read-only afterwards.
var adminRoutes = map[string]adminHandler{}

func registerAdmin(route string, h adminHandler) {
	if _, dup := adminRoutes[route]; dup {
		panic("gateway: admin route registered twice: " + route)
	}
	adminRoutes[route] = h
}

// serveAdmin authenticates an admin request and dispatches it.
func (s *Server) serveAdmin(w http.ResponseWriter, q *request) error {
	query, err := parseQuery(q.r.URL.RawQuery)
	if err != nil {
		return err
	}
	q.query = query
	res, err := s.verifier.Verify(q.r, query)
	if err != nil {
		return err
	}
	q.ident, q.body, q.bodyLen = res.Identity, res.Body, res.DecodedLength
	if q.ident.Anonymous {
		return wire.NewError(wire.ErrAccessDenied, "the admin API needs a signed request")
	}
	u, err := s.meta.GetUser(q.r.Context(), q.ident.AccessKeyID)
	if err != nil {
		return err
	}
	if !u.Admin {
		return wire.NewError(wire.ErrAccessDenied, "the admin API needs an admin user")
	}
	q.user = u
	path := "/" + strings.TrimPrefix(q.r.URL.Path, AdminPrefix)
	if h, ok := adminRoutes[q.r.Method+" "+path]; ok {
		return h(s, w, q, "")
	}
	// Longest registered prefix route wins.
	best, bestLen := adminHandler(nil), -1
	var rest string
	for route, h := range adminRoutes {
		method, p, _ := strings.Cut(route, " ")
		if method != q.r.Method || !strings.HasSuffix(p, "/") || !strings.HasPrefix(path, p) {
			continue
		}
		if len(p) > bestLen {
			best, bestLen, rest = h, len(p), strings.TrimPrefix(path, p)
		}
	}
	if best == nil {
		return wire.Errorf(wire.ErrNotImplemented, "no admin endpoint %s %s", q.r.Method, path)
	}
	return best(s, w, q, rest)
}

// readAdminJSON decodes a JSON request body of at most adminBodyMax bytes into v.
func readAdminJSON(q *request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, readCloser{q.body}, adminBodyMax))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return wire.Errorf(wire.ErrInvalidArgument, "malformed JSON body: %v", err)
	}
	return nil
}

// writeAdminJSON answers with status and v as JSON.
func writeAdminJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

type readCloser struct {
	r interface{ Read([]byte) (int, error) }
}

func (r readCloser) Read(b []byte) (int, error) { return r.r.Read(b) }
func (readCloser) Close() error                 { return nil }

// The status endpoint: what the gateway sees of the cluster.
func init() {
	registerAdmin("GET /status", func(s *Server, w http.ResponseWriter, q *request, _ string) error {
		ctx := q.r.Context()
		kr, err := s.meta.KeyRing(ctx)
		if err != nil {
			return err
		}
		nodes, err := s.nodes.active(ctx, true)
		if err != nil {
			return err
		}
		type node struct {
			ID, Zone string
			Addrs    []string
		}
		out := struct {
			ActiveMasterKey uint32
			KeyRingEpoch    uint64
			StorageNodes    []node
			Geometry        string
		}{ActiveMasterKey: kr.Active, KeyRingEpoch: kr.Epoch, Geometry: s.cfg.Geometry.String()}
		for _, n := range nodes {
			out.StorageNodes = append(out.StorageNodes, node{n.ID, n.Zone, n.Addrs})
		}
		return writeAdminJSON(w, http.StatusOK, out)
	})
}

// decodeErrorBody reads a COS XML error body.
func decodeErrorBody(b []byte, v any) error { return xml.Unmarshal(b, v) }
