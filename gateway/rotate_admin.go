package gateway

// The key endpoints of the admin API and root-key rotation:
//
//	GET  /keys         KeyStatus: ring versions, states, census, re-wrap progress
//	POST /keys/rotate  new active master-key version; answers KeyStatus
//	POST /keys/rewrap  asks for a re-wrap pass (runs it in the request when no Run
//	                   loop is live in this gateway); answers KeyStatus
//	POST /keys/reseal  {"RootKey":"<64 hex digits>"}: root-key rotation, HTTPS only;
//	                   answers ResealResult

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/internal/wire"
	"github.com/coffer-io/coffer/sse"
)

// KeyVersionStatus is one master-key version as GET /keys shows it.
type KeyVersionStatus struct {
	Version uint32
	// State is "active", "decrypt-only" or "retired".
	State   string
	Created time.Time
	// Census is how many data keys the version seals.
	Census uint64
}

// KeyStatus is the answer of GET /keys.
type KeyStatus struct {
	Active uint32
	Epoch  uint64
	// RotationPeriod is this gateway's schedule; zero when rotation is on demand only.
	RotationPeriod time.Duration
	Versions       []KeyVersionStatus
	// Remaining is how many data keys older versions still seal: the re-wrap job's
	// work left.
	Remaining uint64
	// Rewrap is this gateway's re-wrap progress.
	Rewrap RewrapProgress
}

// KeyStatus reports the ring and the census.
func (s *Server) KeyStatus(ctx context.Context) (KeyStatus, error) {
	kr, ring, err := s.readRing(ctx)
	if err != nil {
		return KeyStatus{}, err
	}
	census, err := s.meta.Census(ctx)
	if err != nil {
		return KeyStatus{}, fmt.Errorf("gateway: census: %w", err)
	}
	st := KeyStatus{Active: kr.Active, Epoch: kr.Epoch, RotationPeriod: s.cfg.RotationPeriod, Rewrap: s.rot.progress()}
	for _, mk := range ring.Versions() {
		n := census[mk.Version]
		st.Versions = append(st.Versions, KeyVersionStatus{Version: mk.Version, State: mk.State.String(), Created: mk.Created, Census: n})
		if mk.Version != kr.Active {
			st.Remaining += n
		}
	}
	return st, nil
}

// ResealResult is what a root-key rotation re-sealed.
type ResealResult struct {
	// RingVersions is how many live master-key versions were re-sealed (0 when the
	// ring already was under the new root key).
	RingVersions int
	// Users is how many user secrets were re-sealed; UsersDone how many already were.
	Users, UsersDone int
	// CMKs is how many KMS keys' material was re-sealed.
	CMKs int
	// Note tells the operator what must happen next.
	Note string
}

// resealNote is the operator's instruction after a root-key rotation.
const resealNote = "restart every gateway with the new root key file now: gateways still on the old key can no longer open the ring, KMS keys or user secrets."

// userLister lists users; cluster.Client (through ClusterMeta) implements it.
type userLister interface {
	ListUsers(ctx context.Context) ([]meta.User, error)
}

// ResealRoot rotates the root key: the material of every KMS key (ResealCMKs), the
// ring's live versions and every user's secret are sealed again from the gateway's
// root key to newRoot, in that order. It is idempotent, so an interrupted run is
// finished by running it again with the same key: parts already under newRoot are
// left alone. Afterwards every gateway must be restarted with newRoot (this one
// included): the old key opens nothing any more.
func (s *Server) ResealRoot(ctx context.Context, newRoot sse.Key) (ResealResult, error) {
	var res ResealResult
	if newRoot == (sse.Key{}) {
		return res, fmt.Errorf("%w: the new root key is all zero", ErrRootKey)
	}
	lister, ok := s.meta.(userLister)
	if !ok {
		return res, errors.New("gateway: metadata client cannot list users")
	}
	// Check every user secret opens before anything changes. Users are re-sealed
	// last: until then the running gateways still authenticate them, so an
	// interrupted run can be finished through the same admin API.
	users, err := lister.ListUsers(ctx)
	if err != nil {
		return res, fmt.Errorf("gateway: list users: %w", err)
	}
	secrets := make([]string, len(users))
	done := make([]bool, len(users)) // already under newRoot
	for i, u := range users {
		if _, err := openUserSecret(newRoot, u.AccessKeyID, u.SealedSecret); err == nil {
			done[i] = true
			continue
		}
		if secrets[i], err = openUserSecret(s.cfg.RootKey, u.AccessKeyID, u.SealedSecret); err != nil {
			return res, fmt.Errorf("%w: secret of user %s", ErrRootKey, u.AccessKeyID)
		}
	}
	if res.CMKs, err = s.ResealCMKs(ctx, newRoot); err != nil {
		return res, err
	}
	_, err = s.updateRing(ctx, func(_ meta.KeyRing, r *sse.Ring) (*sse.Ring, []uint32, error) {
		res.RingVersions = 0
		if ringOpens(r, newRoot) {
			return nil, nil, nil // already under the new key
		}
		next, err := r.Reseal(s.cfg.Rand, s.cfg.RootKey, newRoot)
		if errors.Is(err, sse.ErrAuth) {
			return nil, nil, fmt.Errorf("%w: %w", ErrRootKey, err)
		}
		if err != nil {
			return nil, nil, err
		}
		for _, mk := range r.Versions() {
			if mk.State != sse.StateRetired {
				res.RingVersions++
			}
		}
		return next, nil, nil
	})
	if err != nil {
		return res, err
	}
	for i, u := range users {
		if done[i] {
			res.UsersDone++
			continue
		}
		if u.SealedSecret, err = sealUserSecret(s.cfg.Rand, newRoot, u.AccessKeyID, secrets[i]); err != nil {
			return res, err
		}
		if _, err := s.meta.Apply(ctx, &meta.PutUser{User: u}); err != nil {
			return res, fmt.Errorf("gateway: re-seal user %s: %w", u.AccessKeyID, err)
		}
		res.Users++
	}
	res.Note = resealNote
	s.cfg.Logger.Warn("root key rotated; restart every gateway with the new root key",
		"ring_versions", res.RingVersions, "users", res.Users, "cmks", res.CMKs)
	return res, nil
}

// ringOpens reports whether root opens every live version of r.
func ringOpens(r *sse.Ring, root sse.Key) bool {
	for _, mk := range r.Versions() {
		if mk.State == sse.StateRetired {
			continue
		}
		if _, err := r.Unseal(root, mk.Version); err != nil {
			return false
		}
	}
	return true
}

// rootKeyHexBytes is the length of a root key in hex.
const rootKeyHexBytes = 2 * sse.KeyBytes

// parseRootKeyHex decodes a root key given as hex; the error never quotes the input.
func parseRootKeyHex(s string) (sse.Key, error) {
	var k sse.Key
	s = strings.TrimSpace(s)
	if len(s) != rootKeyHexBytes {
		return k, fmt.Errorf("root key must be %d hex digits, got %d characters", rootKeyHexBytes, len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return sse.Key{}, errors.New("root key is not hex")
	}
	return k, nil
}

func init() {
	registerAdmin("GET /keys", func(s *Server, w http.ResponseWriter, q *request, _ string) error {
		st, err := s.KeyStatus(q.r.Context())
		if err != nil {
			return err
		}
		return writeAdminJSON(w, http.StatusOK, st)
	})
	registerAdmin("POST /keys/rotate", func(s *Server, w http.ResponseWriter, q *request, _ string) error {
		ctx := q.r.Context()
		if _, err := s.RotateMasterKey(ctx); err != nil {
			return err
		}
		st, err := s.KeyStatus(ctx)
		if err != nil {
			return err
		}
		return writeAdminJSON(w, http.StatusOK, st)
	})
	registerAdmin("POST /keys/rewrap", func(s *Server, w http.ResponseWriter, q *request, _ string) error {
		ctx := q.r.Context()
		if s.rot.loopLive() {
			s.RequestRewrap()
		} else if _, err := s.Rewrap(ctx); err != nil && !errors.Is(err, ErrRewrapRunning) {
			return err
		}
		st, err := s.KeyStatus(ctx)
		if err != nil {
			return err
		}
		return writeAdminJSON(w, http.StatusAccepted, st)
	})
	registerAdmin("POST /keys/reseal", func(s *Server, w http.ResponseWriter, q *request, _ string) error {
		if q.r.TLS == nil {
			return wire.NewError(wire.ErrInvalidRequest, "the root key is only accepted over HTTPS")
		}
		var in struct{ RootKey string }
		if err := readAdminJSON(q, &in); err != nil {
			return err
		}
		root, err := parseRootKeyHex(in.RootKey)
		if err != nil {
			return wire.Errorf(wire.ErrInvalidArgument, "%v", err)
		}
		res, err := s.ResealRoot(q.r.Context(), root)
		if errors.Is(err, ErrRootKey) {
			return wire.Errorf(wire.ErrInvalidArgument, "%v", err)
		}
		if err != nil {
			return err
		}
		return writeAdminJSON(w, http.StatusOK, res)
	})
}
