package gateway

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/gateway/internal/auth"
	"github.com/coffer-io/coffer/gateway/internal/route"
	"github.com/coffer-io/coffer/node"
	"github.com/coffer-io/coffer/sse"
)

// Limits.
const (
	// ObjectBytesMax is the largest single PUT (and part) in bytes: 5 GiB, as COS.
	ObjectBytesMax = 5 << 30
	// DefaultReadyTimeout bounds the metadata probe of GET /-/ready.
	DefaultReadyTimeout = 2 * time.Second
	// DefaultGCInterval is how often the garbage collector polls the queue.
	DefaultGCInterval = 5 * time.Second
	// GCBatchMax is how many garbage items one collector pass takes.
	GCBatchMax = 256
	// MinPartBytes is the smallest part other than the last (COS: 1 MiB).
	MinPartBytes = 1 << 20
	// DefaultRewrapRate is the re-wrap job's default pace in objects per second.
	DefaultRewrapRate = 10000
	// DefaultKeyCheckInterval is how often Run checks the rotation schedule and
	// whether old master-key versions still seal data keys.
	DefaultKeyCheckInterval = 30 * time.Second
)

// Config configures a Server. Fields left zero take the documented defaults in
// EnsureDefaults.
type Config struct {
	// Domain is the base domain for virtual-host addressing ("<bucket>.<Domain>" and
	// "<bucket>.cos.<Region>.<Domain>"). Default "localhost".
	Domain string
	// Region is the COS region label. Default "local".
	Region string
	// Geometry is the erasure geometry of new objects. Default erasure.DefaultGeometry.
	Geometry erasure.Geometry
	// WriteQuorum is how many shards a PUT must store; never below k+1 (the default).
	WriteQuorum int
	// RootKey unseals the master-key ring and user secrets. Required.
	RootKey sse.Key
	// AllowSSECOverHTTP accepts SSE-C requests on plain HTTP. Default false: they are
	// refused with 400 InvalidRequest, since the key would cross the network in clear.
	AllowSSECOverHTTP bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand is the randomness for keys, nonces and ids. Default crypto/rand.Reader.
	Rand io.Reader
	// Logger receives structured logs. Default: discard.
	Logger *slog.Logger
	// Auth tunes signature verification (clock skew, chunk limits). Its Now is set to
	// the gateway's clock when empty.
	Auth auth.Config
	// ShardClient configures the shard RPC clients (mutual TLS from the cluster CA).
	ShardClient node.ClientConfig
	// Shards, when set, replaces the shard RPC clients (tests).
	Shards Shards
	// GCInterval is the garbage collector's poll period. Default DefaultGCInterval.
	GCInterval time.Duration
	// ReadyTimeout bounds the readiness probe. Default DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// RotationPeriod is the age at which Run rotates the active master-key version.
	// Default 0: no scheduled rotation (on demand only).
	RotationPeriod time.Duration
	// RewrapRate caps the re-wrap job in objects per second. Default DefaultRewrapRate.
	RewrapRate float64
	// KeyCheckInterval is how often Run checks the rotation schedule and re-wraps.
	// Default DefaultKeyCheckInterval.
	KeyCheckInterval time.Duration
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Domain == "" {
		c.Domain = "localhost"
	}
	if c.Region == "" {
		c.Region = "local"
	}
	if c.Geometry == (erasure.Geometry{}) {
		c.Geometry = erasure.DefaultGeometry
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Auth.Now == nil {
		c.Auth.Now = c.Now
	}
	c.Auth.EnsureDefaults()
	if c.GCInterval == 0 {
		c.GCInterval = DefaultGCInterval
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.RewrapRate == 0 {
		c.RewrapRate = DefaultRewrapRate
	}
	if c.KeyCheckInterval == 0 {
		c.KeyCheckInterval = DefaultKeyCheckInterval
	}
}

// Validate reports every problem with the configuration.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Geometry.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("geometry: %w", err))
	}
	if c.WriteQuorum < 0 || c.WriteQuorum > c.Geometry.TotalShards() {
		errs = append(errs, fmt.Errorf("write quorum %d outside 0..%d", c.WriteQuorum, c.Geometry.TotalShards()))
	}
	if c.RootKey == (sse.Key{}) {
		errs = append(errs, errors.New("root key is required"))
	}
	rc := route.Config{Domain: c.Domain, Region: c.Region}
	if err := rc.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Auth.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.GCInterval < 0 || c.ReadyTimeout < 0 || c.RotationPeriod < 0 || c.KeyCheckInterval < 0 {
		errs = append(errs, errors.New("intervals must not be negative"))
	}
	if c.RewrapRate < 0 {
		errs = append(errs, fmt.Errorf("rewrap rate %g must not be negative", c.RewrapRate))
	}
	if len(errs) > 0 {
		return fmt.Errorf("gateway: invalid config: %w", errors.Join(errs...))
	}
	return nil
}
