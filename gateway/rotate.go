package gateway

// Master-key rotation (DESIGN.md 6.3). Rotation adds a ring version and makes it
// active through a compare-and-set on the ring epoch; the re-wrap job then moves every
// data key sealed under an older version to the active one, through Raft only (the
// shards are never read or written: a DEK's seal changes, the DEK does not), and
// retires each old version once the state machine's census of it is zero. The job is
// resumable by construction: it starts from whatever the census still counts under an
// old version, so a restart or a leader change only costs the batch in flight.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/sse"
)

// Limits of rotation and re-wrapping.
const (
	// RewrapBatchMax is how many data keys one Rewrap command carries.
	RewrapBatchMax = 256
	// ringCASAttemptsMax bounds the compare-and-set retries of a ring update.
	ringCASAttemptsMax = 16
	// rewrapAttemptsMax bounds the retries of one metadata call of the re-wrap job
	// (a leader change, a timeout) before the pass gives up until the next one.
	rewrapAttemptsMax = 10
	// rewrapInFlightMax is how many Rewrap commands one pass keeps in flight.
	rewrapInFlightMax = 4
	// rewrapBackoff is the first retry delay; it grows linearly.
	rewrapBackoff = 100 * time.Millisecond
	// retireGrace is how long after a rotation an old version is kept although its
	// census is zero: gateways keep sealing under their cached active version for up
	// to ringTTL, and a retired version fails their commits.
	retireGrace = 5 * ringTTL
)

// Errors of rotation and re-wrapping.
var (
	// ErrRingContended: the ring kept changing under a compare-and-set.
	ErrRingContended = errors.New("gateway: key ring changed too often to update")
	// ErrRewrapRunning: this gateway already runs the re-wrap job.
	ErrRewrapRunning = errors.New("gateway: re-wrap job already running")
	// ErrRootKey: the root key given does not open the ring.
	ErrRootKey = errors.New("gateway: root key does not open the key ring")
)

// RewrapProgress is what the re-wrap job has done in its current or last pass.
type RewrapProgress struct {
	// Running is true while a pass is under way on this gateway.
	Running bool
	// Started and Finished bound the last pass (Finished zero while running).
	Started, Finished time.Time
	// Done counts data keys re-wrapped, Skipped those changed underneath (overwritten
	// or deleted since they were listed), Failed those that did not unseal.
	Done, Skipped, Failed uint64
	// Retired lists the versions the pass retired.
	Retired []uint32
	// Rate is the pass's pace in data keys per second.
	Rate float64
	// Error is the error that ended the last pass, if any.
	Error string
}

// rotation is a Server's rotation state: the progress of the re-wrap job and the
// channel that asks Run for a pass.
type rotation struct {
	mu   sync.Mutex // guards the fields below
	prog RewrapProgress
	kick chan struct{}
	live bool // a Run loop serves kick
	// Totals since the gateway started, for the metrics.
	rewrapped, skipped, failed, rotations uint64
}

func (r *rotation) setLive(v bool) {
	r.mu.Lock()
	r.live = v
	r.mu.Unlock()
}

func (r *rotation) loopLive() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live
}

func (r *rotation) kickChan() chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kick == nil {
		r.kick = make(chan struct{}, 1)
	}
	return r.kick
}

// progress returns a copy of the job's progress.
func (r *rotation) progress() RewrapProgress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.prog
	p.Retired = append([]uint32(nil), p.Retired...)
	return p
}

// RequestRewrap asks Run for a re-wrap pass as soon as it can; it never blocks.
func (s *Server) RequestRewrap() {
	select {
	case s.rot.kickChan() <- struct{}{}:
	default:
	}
}

// readRing reads and parses the stored ring.
func (s *Server) readRing(ctx context.Context) (meta.KeyRing, *sse.Ring, error) {
	kr, err := s.meta.KeyRing(ctx)
	if err != nil {
		return meta.KeyRing{}, nil, fmt.Errorf("gateway: read key ring: %w", err)
	}
	if kr.Epoch == 0 {
		return meta.KeyRing{}, nil, errNoRing
	}
	ring, err := sse.ParseRing(kr.Sealed)
	if err != nil {
		return meta.KeyRing{}, nil, fmt.Errorf("gateway: key ring: %w", err)
	}
	return kr, ring, nil
}

// updateRing applies change to the stored ring with a compare-and-set on its epoch,
// re-reading and re-applying on a conflict. change returns nil (and no error) when
// nothing is to be done; retire lists versions the update retires.
func (s *Server) updateRing(ctx context.Context, change func(kr meta.KeyRing, r *sse.Ring) (next *sse.Ring, retire []uint32, err error)) (*sse.Ring, error) {
	for range ringCASAttemptsMax {
		kr, ring, err := s.readRing(ctx)
		if err != nil {
			return nil, err
		}
		next, retire, err := change(kr, ring)
		if err != nil || next == nil {
			return nil, err
		}
		sealed, err := next.MarshalBinary()
		if err != nil {
			return nil, err
		}
		_, err = s.meta.Apply(ctx, &meta.SetKeyRing{ExpectEpoch: kr.Epoch, Sealed: sealed, Active: next.Active().Version, Retire: retire})
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("gateway: update key ring: %w", err)
		}
		if next.Active().Version != kr.Active {
			s.rot.mu.Lock()
			s.rot.rotations++
			s.rot.mu.Unlock()
		}
		// This gateway seals under the new version at once; others within ringTTL.
		if rerr := s.keys.refresh(ctx); rerr != nil {
			s.cfg.Logger.Warn("key ring re-read after update", "error", rerr.Error())
		}
		return next, nil
	}
	return nil, ErrRingContended
}

// rotateRing returns ring with a new active version of fresh material.
func (s *Server) rotateRing(ring *sse.Ring) (*sse.Ring, error) {
	material, err := sse.GenerateDEK(s.cfg.Rand)
	if err != nil {
		return nil, err
	}
	next, err := ring.Rotate(s.cfg.Rand, s.cfg.RootKey, material, s.cfg.Now())
	if errors.Is(err, sse.ErrAuth) {
		return nil, fmt.Errorf("%w: %w", ErrRootKey, err)
	}
	return next, err
}

// RotateMasterKey makes a new master-key version active at once and returns it. The
// previous versions stay readable (decrypt-only) until the re-wrap job retires them;
// it asks Run for a pass.
func (s *Server) RotateMasterKey(ctx context.Context) (sse.MasterKey, error) {
	next, err := s.updateRing(ctx, func(_ meta.KeyRing, r *sse.Ring) (*sse.Ring, []uint32, error) {
		n, err := s.rotateRing(r)
		return n, nil, err
	})
	if err != nil {
		return sse.MasterKey{}, err
	}
	s.cfg.Logger.Info("master key rotated", "version", next.Active().Version)
	s.RequestRewrap()
	return next.Active(), nil
}

// RotateIfDue rotates the master key when Config.RotationPeriod is set and the active
// version is at least that old, and reports whether it did. Gateways racing here end
// with one rotation: the loser of the compare-and-set finds a fresh version.
func (s *Server) RotateIfDue(ctx context.Context) (bool, error) {
	if s.cfg.RotationPeriod <= 0 {
		return false, nil
	}
	next, err := s.updateRing(ctx, func(_ meta.KeyRing, r *sse.Ring) (*sse.Ring, []uint32, error) {
		if s.cfg.Now().Sub(r.Active().Created) < s.cfg.RotationPeriod {
			return nil, nil, nil
		}
		n, err := s.rotateRing(r)
		return n, nil, err
	})
	if err != nil || next == nil {
		return false, err
	}
	s.cfg.Logger.Info("master key rotated on schedule", "version", next.Active().Version)
	return true, nil
}

// rewrapNeeded reports whether an old version still seals keys or can be retired.
func (s *Server) rewrapNeeded(ctx context.Context) (bool, error) {
	_, ring, err := s.readRing(ctx)
	if err != nil {
		return false, err
	}
	for _, mk := range ring.Versions() {
		if mk.State == sse.StateDecryptOnly {
			return true, nil
		}
	}
	return false, nil
}

// Rewrap runs one pass of the re-wrap job: every data key sealed under a decrypt-only
// master-key version is unsealed and sealed again under the active version, in
// batches of RewrapBatchMax at Config.RewrapRate keys per second, each batch a Rewrap
// command that skips keys changed meanwhile; then every decrypt-only version whose
// census is zero (and that was replaced more than retireGrace ago) is retired. Only
// one pass runs per gateway at a time (ErrRewrapRunning); passes on several gateways
// are safe, only wasteful.
func (s *Server) Rewrap(ctx context.Context) (RewrapProgress, error) {
	s.rot.mu.Lock()
	if s.rot.prog.Running {
		s.rot.mu.Unlock()
		return RewrapProgress{}, ErrRewrapRunning
	}
	s.rot.prog = RewrapProgress{Running: true, Started: s.cfg.Now()}
	s.rot.mu.Unlock()

	err := s.rewrapPass(ctx)

	s.rot.mu.Lock()
	p := &s.rot.prog
	p.Running, p.Finished = false, s.cfg.Now()
	if secs := p.Finished.Sub(p.Started).Seconds(); secs > 0 {
		p.Rate = float64(p.Done) / secs
	}
	if err != nil {
		p.Error = err.Error()
	}
	s.rot.mu.Unlock()
	return s.rot.progress(), err
}

func (s *Server) rewrapPass(ctx context.Context) error {
	_, ring, err := s.readRing(ctx)
	if err != nil {
		return err
	}
	census, err := s.meta.Census(ctx)
	if err != nil {
		return fmt.Errorf("gateway: census: %w", err)
	}
	active := ring.Active()
	activeKEK, err := ring.Unseal(s.cfg.RootKey, active.Version)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRootKey, err)
	}
	limit := rate.NewLimiter(rate.Limit(s.cfg.RewrapRate), RewrapBatchMax)
	for _, mk := range ring.Versions() {
		if mk.State != sse.StateDecryptOnly || census[mk.Version] == 0 {
			continue
		}
		oldKEK, err := ring.Unseal(s.cfg.RootKey, mk.Version)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRootKey, err)
		}
		if err := s.rewrapVersion(ctx, limit, mk.Version, oldKEK, active.Version, activeKEK); err != nil {
			return err
		}
	}
	if s.cfg.Now().Sub(active.Created) < retireGrace {
		return nil
	}
	if census, err = s.meta.Census(ctx); err != nil {
		return fmt.Errorf("gateway: census: %w", err)
	}
	var retire []uint32
	next, err := s.updateRing(ctx, func(_ meta.KeyRing, r *sse.Ring) (*sse.Ring, []uint32, error) {
		retire = retire[:0]
		for _, mk := range r.Versions() {
			if mk.State != sse.StateDecryptOnly || census[mk.Version] != 0 {
				continue
			}
			var err error
			if r, err = r.Retire(mk.Version); err != nil {
				return nil, nil, err
			}
			retire = append(retire, mk.Version)
		}
		if len(retire) == 0 {
			return nil, nil, nil
		}
		return r, retire, nil
	})
	if errors.Is(err, meta.ErrKeyInUse) {
		// A stale gateway sealed a key under an old version after the census was
		// read; the next pass moves it.
		return nil
	}
	if err != nil || next == nil {
		return err
	}
	s.rot.mu.Lock()
	s.rot.prog.Retired = retire
	s.rot.mu.Unlock()
	s.cfg.Logger.Info("master key versions retired", "versions", fmt.Sprint(retire))
	return nil
}

// rewrapVersion moves every data key under version old to version to. One goroutine
// lists and re-seals pages while up to rewrapInFlightMax Rewrap commands are in
// flight, so listing, sealing and Raft round trips overlap; all of them stop on the
// first error and are joined before it returns.
func (s *Server) rewrapVersion(ctx context.Context, limit *rate.Limiter, old uint32, oldKEK sse.Key, to uint32, toKEK sse.Key) error {
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan []meta.RewrapItem, rewrapInFlightMax)
	for range rewrapInFlightMax {
		g.Go(func() error {
			for items := range batches {
				n := 0
				err := s.retryMeta(gctx, func() (err error) {
					n, err = s.meta.Rewrap(gctx, items)
					return err
				})
				if err != nil {
					return fmt.Errorf("gateway: rewrap: %w", err)
				}
				s.rot.mu.Lock()
				s.rot.prog.Done += uint64(n)
				s.rot.prog.Skipped += uint64(len(items) - n)
				s.rot.rewrapped += uint64(n)
				s.rot.skipped += uint64(len(items) - n)
				s.rot.mu.Unlock()
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(batches)
		var after *meta.KeyRef
		for {
			var refs []meta.KeyRef
			err := s.retryMeta(gctx, func() (err error) {
				refs, err = s.meta.VersionsByMasterKey(gctx, old, after, RewrapBatchMax)
				return err
			})
			if err != nil {
				return fmt.Errorf("gateway: list keys of master key %d: %w", old, err)
			}
			if len(refs) == 0 {
				return nil
			}
			items := make([]meta.RewrapItem, 0, len(refs))
			for i := range refs {
				if it, ok := s.resealRef(&refs[i], old, oldKEK, to, toKEK); ok {
					items = append(items, it)
				}
			}
			if failed := len(refs) - len(items); failed > 0 {
				s.rot.mu.Lock()
				s.rot.prog.Failed += uint64(failed)
				s.rot.failed += uint64(failed)
				s.rot.mu.Unlock()
			}
			if len(items) > 0 {
				if err := limit.WaitN(gctx, len(items)); err != nil {
					return err
				}
				select {
				case batches <- items:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			if len(refs) < RewrapBatchMax {
				return nil
			}
			// The index is ordered; re-wrapped entries leave it, so paging on from the
			// last one listed is right whether or not its batch has been applied.
			after = &refs[len(refs)-1]
		}
	})
	return g.Wait()
}

// resealRef unseals one data key under the old version and seals it under the new
// one. The index does not record the mode, and the mode is part of the binding, so
// both modes the master key serves are tried; a key that opens under neither is
// reported (never logged) and left alone.
func (s *Server) resealRef(ref *meta.KeyRef, old uint32, oldKEK sse.Key, to uint32, toKEK sse.Key) (meta.RewrapItem, bool) {
	for _, mode := range [...]meta.SSEMode{meta.ModeNone, meta.ModeSSECOS} {
		dek, err := sse.UnsealDEK(oldKEK, ref.SealedDEK, binding(ref.Bucket, ref.Key, ref.VersionID, meta.SSE{Mode: mode, MasterKeyVersion: old}))
		if err != nil {
			continue
		}
		sealed, err := sse.SealDEK(s.cfg.Rand, toKEK, dek, binding(ref.Bucket, ref.Key, ref.VersionID, meta.SSE{Mode: mode, MasterKeyVersion: to}))
		if err != nil {
			break
		}
		return meta.RewrapItem{
			Bucket: ref.Bucket, Key: ref.Key, VersionID: ref.VersionID, Upload: ref.Upload,
			OldSealedDEK: ref.SealedDEK, NewSealedDEK: sealed, NewMasterKeyVersion: to,
		}, true
	}
	s.cfg.Logger.Warn("data key does not unseal under its master key; left alone",
		"bucket", ref.Bucket, "key", ref.Key, "version", ref.VersionID.String(), "master_key", old)
	return meta.RewrapItem{}, false
}

// retryMeta runs call until it succeeds, fails for good, or rewrapAttemptsMax
// attempts have failed; a leader change or a timeout is worth another attempt.
func (s *Server) retryMeta(ctx context.Context, call func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = call(); err == nil || ctx.Err() != nil || attempt == rewrapAttemptsMax || permanentMetaError(err) {
			return err
		}
		t := time.NewTimer(time.Duration(attempt) * rewrapBackoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// permanentMetaError reports whether a retry cannot help.
func permanentMetaError(err error) bool {
	for _, e := range []error{meta.ErrKeyRetired, meta.ErrInvalidArgument, meta.ErrMalformed, meta.ErrKeyInUse} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// runKeys is Run's key maintenance: on every KeyCheckInterval tick, and whenever a
// pass is requested, it rotates when due and re-wraps while an old version remains.
func (s *Server) runKeys(ctx context.Context) {
	t := time.NewTicker(s.cfg.KeyCheckInterval)
	defer t.Stop()
	kick := s.rot.kickChan()
	s.rot.setLive(true)
	defer s.rot.setLive(false)
	for {
		if _, err := s.RotateIfDue(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("scheduled master-key rotation", "error", err.Error())
		}
		if need, err := s.rewrapNeeded(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("re-wrap check", "error", err.Error())
		} else if need {
			if _, err := s.Rewrap(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrRewrapRunning) {
				s.cfg.Logger.Warn("re-wrap pass", "error", err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
	}
}

var (
	rewrapKeysDesc = prometheus.NewDesc("coffer_gateway_rewrap_keys_total",
		"Data keys the re-wrap job handled on this gateway, by result.", []string{"result"}, nil)
	rewrapRunningDesc = prometheus.NewDesc("coffer_gateway_rewrap_running",
		"1 while a re-wrap pass runs on this gateway.", nil, nil)
	rotationsDesc = prometheus.NewDesc("coffer_gateway_master_key_rotations_total",
		"Master-key rotations this gateway made.", nil, nil)
)

// RotationCollector exports the re-wrap job's counters and this gateway's rotations
// for Prometheus. Collecting never calls the metadata cluster.
func (s *Server) RotationCollector() prometheus.Collector { return rotationCollector{&s.rot} }

type rotationCollector struct{ r *rotation }

func (c rotationCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rewrapKeysDesc
	ch <- rewrapRunningDesc
	ch <- rotationsDesc
}

func (c rotationCollector) Collect(ch chan<- prometheus.Metric) {
	c.r.mu.Lock()
	done, skipped, failed, rotations, running := c.r.rewrapped, c.r.skipped, c.r.failed, c.r.rotations, c.r.prog.Running
	c.r.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(rewrapKeysDesc, prometheus.CounterValue, float64(done), "rewrapped")
	ch <- prometheus.MustNewConstMetric(rewrapKeysDesc, prometheus.CounterValue, float64(skipped), "skipped")
	ch <- prometheus.MustNewConstMetric(rewrapKeysDesc, prometheus.CounterValue, float64(failed), "failed")
	r := 0.0
	if running {
		r = 1
	}
	ch <- prometheus.MustNewConstMetric(rewrapRunningDesc, prometheus.GaugeValue, r)
	ch <- prometheus.MustNewConstMetric(rotationsDesc, prometheus.CounterValue, float64(rotations))
}
