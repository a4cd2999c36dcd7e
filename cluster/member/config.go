package member

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// Profile selects memberlist's base timers.
type Profile int

const (
	// ProfileLAN is memberlist.DefaultLANConfig: probe every 1 s, gossip every 200 ms,
	// push/pull every 30 s. The default.
	ProfileLAN Profile = iota
	// ProfileLocal is memberlist.DefaultLocalConfig, for loopback clusters and tests.
	ProfileLocal
)

// Config limits and defaults.
const (
	// DefaultBindPort is the conventional gossip port. Config.BindPort 0 does not mean
	// this port but "pick a free one"; cmd/coffer fills this value in.
	DefaultBindPort = 7946
	// NameBytesMax is the longest node name accepted, in bytes.
	NameBytesMax = 128
	// LabelBytesMax is memberlist's limit on the cluster label, in bytes.
	LabelBytesMax = memberlist.LabelMaxSize
	// SeedsMax is the largest number of seed addresses.
	SeedsMax = 64
	// SecondaryKeysMax is the largest number of secondary gossip keys.
	SecondaryKeysMax = 4

	DefaultBindAddr            = "0.0.0.0"
	DefaultRejoinInterval      = 30 * time.Second
	DefaultDebounceInterval    = 500 * time.Millisecond
	DefaultDebounceMax         = 5 * time.Second
	DefaultLeaveGrace          = time.Second
	DefaultDeadNodeReclaimTime = 10 * time.Second
)

// ErrConfig is wrapped by every error Validate reports.
var ErrConfig = errors.New("member: invalid config")

// Config configures a Pool. The zero value is not usable: Name and SecretKey (or
// Plaintext) are required. Call EnsureDefaults, then Validate; Start does both.
type Config struct {
	// Name is the node's stable id, unique in the cluster and kept across restarts
	// and address changes. Required, at most NameBytesMax bytes.
	Name string
	// BindAddr is the address gossip listens on (UDP and TCP). Default "0.0.0.0".
	BindAddr string
	// BindPort is the gossip port. 0 picks a free port (tests); see DefaultBindPort.
	BindPort int
	// AdvertiseAddr is the address peers reach this node at. Empty lets memberlist
	// pick one from the bind address or the interfaces.
	AdvertiseAddr string
	// AdvertisePort is the port peers reach this node at. 0 means the bound port.
	AdvertisePort int
	// Seeds are host:port gossip addresses of nodes to join at start and re-join every
	// RejoinInterval while they are not members. Empty starts a new pool. At most
	// SeedsMax.
	Seeds []string
	// SecretKey is the gossip encryption key: 16, 24 or 32 bytes for AES-128/192/256-GCM
	// over all gossip traffic. Required unless Plaintext is set. Never logged.
	SecretKey []byte
	// SecondaryKeys are further gossip keys accepted for decryption but never used to
	// send, for key rotation by rolling restart: add the new key as secondary
	// everywhere, then make it primary everywhere, then drop the old one. Each 16, 24
	// or 32 bytes; at most SecondaryKeysMax. Never logged.
	SecondaryKeys [][]byte
	// Plaintext allows running without SecretKey. For tests only.
	Plaintext bool
	// Label keeps separate clusters apart: packets with another label are dropped,
	// and with encryption it is authenticated as GCM additional data. Optional, at
	// most LabelBytesMax bytes.
	Label string
	// Meta is the metadata this node advertises at start. It must encode to at most
	// MetaMaxBytes.
	Meta NodeMeta
	// Profile selects the base timers. Default ProfileLAN.
	Profile Profile
	// ProbeInterval and ProbeTimeout override the profile's failure-detector timers
	// when positive. Shorter timers find failures faster at the cost of traffic.
	ProbeInterval, ProbeTimeout time.Duration
	// PushPullInterval overrides the profile's full state exchange period when
	// positive. Gossip is best effort; the push/pull repairs whatever it missed.
	PushPullInterval time.Duration
	// RetransmitMult overrides how many times (times log(N+1)) a broadcast such as a
	// metadata update is retransmitted, when positive. LAN default 4, Local 2.
	RetransmitMult int
	// RejoinInterval is how often seeds that are not members are joined again, which
	// heals partitions longer than memberlist's dead-node retention. Default 30 s.
	RejoinInterval time.Duration
	// DebounceInterval is the quiet period after a membership change before
	// subscribers get a snapshot. Default 500 ms.
	DebounceInterval time.Duration
	// DebounceMax bounds how long continuous churn can hold a snapshot back.
	// Default 5 s; it is raised to DebounceInterval if smaller.
	DebounceMax time.Duration
	// LeaveGrace is how long Leave waits after advertising Leaving=true before it
	// leaves the pool, so peers see the flag. Default 1 s (five LAN gossip rounds).
	LeaveGrace time.Duration
	// DeadNodeReclaimTime is how long after a node is declared dead its name may
	// come back from a new address. Default 10 s.
	DeadNodeReclaimTime time.Duration
	// Logger receives the pool's and memberlist's logs. Default: discard.
	Logger *slog.Logger
}

// EnsureDefaults fills every unset field that has a default.
func (c *Config) EnsureDefaults() {
	if c.BindAddr == "" {
		c.BindAddr = DefaultBindAddr
	}
	if c.RejoinInterval == 0 {
		c.RejoinInterval = DefaultRejoinInterval
	}
	if c.DebounceInterval == 0 {
		c.DebounceInterval = DefaultDebounceInterval
	}
	if c.DebounceMax == 0 {
		c.DebounceMax = DefaultDebounceMax
	}
	if c.DebounceMax < c.DebounceInterval {
		c.DebounceMax = c.DebounceInterval
	}
	if c.LeaveGrace == 0 {
		c.LeaveGrace = DefaultLeaveGrace
	}
	if c.DeadNodeReclaimTime == 0 {
		c.DeadNodeReclaimTime = DefaultDeadNodeReclaimTime
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem with c at once. It wraps ErrConfig, and
// ErrMetaTooLarge when Meta is too large. Call EnsureDefaults first.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.Name == "" {
		bad("Name is required")
	} else if len(c.Name) > NameBytesMax {
		bad("Name is %d bytes (max %d)", len(c.Name), NameBytesMax)
	}
	if c.BindAddr == "" || net.ParseIP(c.BindAddr) == nil {
		bad("BindAddr %q is not an IP address", c.BindAddr)
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		bad("BindPort %d out of range", c.BindPort)
	}
	if c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil {
		bad("AdvertiseAddr %q is not an IP address", c.AdvertiseAddr)
	}
	if c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		bad("AdvertisePort %d out of range", c.AdvertisePort)
	}
	if len(c.Seeds) > SeedsMax {
		bad("%d seeds (max %d)", len(c.Seeds), SeedsMax)
	}
	for _, s := range c.Seeds {
		host, port, err := net.SplitHostPort(s)
		if err != nil || host == "" {
			bad("seed %q is not host:port", s)
			continue
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			bad("seed %q has a bad port", s)
		}
	}
	switch len(c.SecretKey) {
	case 16, 24, 32:
	case 0:
		if !c.Plaintext {
			bad("SecretKey is required (or set Plaintext for tests)")
		}
	default:
		// The length is not secret; the key never appears in the message.
		bad("SecretKey is %d bytes (want 16, 24 or 32)", len(c.SecretKey))
	}
	if len(c.SecondaryKeys) > 0 && len(c.SecretKey) == 0 {
		bad("SecondaryKeys need a SecretKey")
	}
	if len(c.SecondaryKeys) > SecondaryKeysMax {
		bad("%d secondary keys (max %d)", len(c.SecondaryKeys), SecondaryKeysMax)
	}
	for i, k := range c.SecondaryKeys {
		if l := len(k); l != 16 && l != 24 && l != 32 {
			bad("SecondaryKeys[%d] is %d bytes (want 16, 24 or 32)", i, l)
		}
	}
	if len(c.Label) > LabelBytesMax {
		bad("Label is %d bytes (max %d)", len(c.Label), LabelBytesMax)
	}
	if _, err := c.Meta.Encode(); err != nil {
		errs = append(errs, fmt.Errorf("%w: Meta: %w", ErrConfig, err))
	}
	if c.Profile != ProfileLAN && c.Profile != ProfileLocal {
		bad("unknown Profile %d", c.Profile)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ProbeInterval", c.ProbeInterval}, {"ProbeTimeout", c.ProbeTimeout},
		{"PushPullInterval", c.PushPullInterval},
		{"RejoinInterval", c.RejoinInterval}, {"DebounceInterval", c.DebounceInterval},
		{"DebounceMax", c.DebounceMax}, {"LeaveGrace", c.LeaveGrace},
		{"DeadNodeReclaimTime", c.DeadNodeReclaimTime},
	} {
		if d.v < 0 {
			bad("%s is negative (%v)", d.name, d.v)
		}
	}
	if c.RetransmitMult < 0 {
		bad("RetransmitMult is negative (%d)", c.RetransmitMult)
	}
	if c.ProbeInterval > 0 && c.ProbeTimeout > c.ProbeInterval {
		bad("ProbeTimeout %v exceeds ProbeInterval %v", c.ProbeTimeout, c.ProbeInterval)
	}
	if c.Logger == nil {
		bad("Logger is nil (call EnsureDefaults)")
	}
	return errors.Join(errs...)
}

// memberlistConfig builds the memberlist configuration for c.
func (c *Config) memberlistConfig() *memberlist.Config {
	var mc *memberlist.Config
	switch c.Profile {
	case ProfileLocal:
		mc = memberlist.DefaultLocalConfig()
	default:
		mc = memberlist.DefaultLANConfig()
	}
	mc.Name = c.Name
	mc.BindAddr = c.BindAddr
	mc.BindPort = c.BindPort
	mc.AdvertiseAddr = c.AdvertiseAddr
	mc.AdvertisePort = c.AdvertisePort
	if c.AdvertisePort == 0 {
		mc.AdvertisePort = c.BindPort
	}
	if len(c.SecretKey) > 0 {
		// Validate checked every length, so NewKeyring cannot fail here; memberlist
		// keeps its own copies of the keys.
		kr, err := memberlist.NewKeyring(c.SecondaryKeys, c.SecretKey)
		if err != nil {
			panic("member: keyring from validated keys: " + err.Error())
		}
		mc.Keyring = kr
	}
	mc.Label = c.Label
	if c.ProbeInterval > 0 {
		mc.ProbeInterval = c.ProbeInterval
	}
	if c.ProbeTimeout > 0 {
		mc.ProbeTimeout = c.ProbeTimeout
	}
	if c.PushPullInterval > 0 {
		mc.PushPullInterval = c.PushPullInterval
	}
	if c.RetransmitMult > 0 {
		mc.RetransmitMult = c.RetransmitMult
	}
	mc.DeadNodeReclaimTime = c.DeadNodeReclaimTime
	mc.RequireNodeNames = false
	mc.Logger = newLogLogger(c.Logger)
	return mc
}

// String describes c without its keys, so that printing a Config (%v, %+v, %s) can
// never leak them.
func (c Config) String() string {
	return fmt.Sprintf("member.Config{Name:%q BindAddr:%q BindPort:%d AdvertiseAddr:%q AdvertisePort:%d Seeds:%q SecretKey:[%d bytes redacted] SecondaryKeys:[%d redacted] Plaintext:%v Label:%q Meta:%+v Profile:%d}",
		c.Name, c.BindAddr, c.BindPort, c.AdvertiseAddr, c.AdvertisePort, c.Seeds, len(c.SecretKey), len(c.SecondaryKeys), c.Plaintext, c.Label, c.Meta, c.Profile)
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue is String, for log/slog.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
