package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-io/coffer/cluster"
)

// Roles a server process can run.
const (
	roleMeta    = "meta"
	roleStorage = "storage"
	roleGateway = "gateway"
)

// logSettings selects the log output.
type logSettings struct {
	Level  string // debug, info, warn, error
	Format string // text or json
}

func (l logSettings) validate() []error {
	var errs []error
	if _, err := parseLevel(l.Level); err != nil {
		errs = append(errs, err)
	}
	if l.Format != "text" && l.Format != "json" {
		errs = append(errs, fmt.Errorf("log format %q: want text or json", l.Format))
	}
	return errs
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// devSettings are the settings of `coffer dev`.
type devSettings struct {
	// DataDir holds everything: secrets, TLS material, the meta voter's and the six
	// storage nodes' state. Default "./data".
	DataDir string
	// HTTPAddr and HTTPSAddr are the gateway's listen addresses. Defaults
	// 127.0.0.1:8080 and 127.0.0.1:8443; an empty HTTPSAddr disables HTTPS.
	HTTPAddr  string
	HTTPSAddr string
	// Domain and Region shape virtual-host addressing. Defaults "localhost", "local".
	Domain string
	Region string
	Log    logSettings
}

func defaultDevSettings() devSettings {
	return devSettings{
		DataDir: "./data", HTTPAddr: "127.0.0.1:8080", HTTPSAddr: "127.0.0.1:8443",
		Domain: "localhost", Region: "local", Log: logSettings{Level: "info", Format: "text"},
	}
}

var devOptions = []option[devSettings]{
	{"data", "data directory (default ./data)", func(s *devSettings) any { return &s.DataDir }},
	{"http-addr", "gateway HTTP listen address (default 127.0.0.1:8080)", func(s *devSettings) any { return &s.HTTPAddr }},
	{"https-addr", "gateway HTTPS listen address, empty to disable (default 127.0.0.1:8443)", func(s *devSettings) any { return &s.HTTPSAddr }},
	{"domain", "base domain for virtual-host buckets (default localhost)", func(s *devSettings) any { return &s.Domain }},
	{"region", "COS region label (default local)", func(s *devSettings) any { return &s.Region }},
	{"log-level", "debug, info, warn or error (default info)", func(s *devSettings) any { return &s.Log.Level }},
	{"log-format", "text or json (default text)", func(s *devSettings) any { return &s.Log.Format }},
}

// Validate reports every problem at once.
func (s devSettings) Validate() error {
	var errs []error
	if s.DataDir == "" {
		errs = append(errs, errors.New("data: a data directory is required"))
	}
	if err := checkListen("http-addr", s.HTTPAddr); err != nil {
		errs = append(errs, err)
	}
	if s.HTTPSAddr != "" {
		if err := checkListen("https-addr", s.HTTPSAddr); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, checkDomain(s.Domain, s.Region)...)
	errs = append(errs, s.Log.validate()...)
	return errors.Join(errs...)
}

// serverSettings are the flat settings of `coffer server`; serverConfig is what they
// mean per role.
type serverSettings struct {
	Roles   []string
	NodeID  string
	DataDir string
	Zone    string
	Log     logSettings

	TLSCA, TLSCert, TLSKey string

	MetaListen, MetaAdvertise string
	MetaBootstrap             []string // "id=host:port"
	MetaJoin                  []string
	MetaAddrs                 []string

	StorageListen, StorageAdvertise string
	StorageCapacity                 int64
	StorageFreeBytesMin             int64

	HTTPAddr, HTTPSAddr   string
	Domain, Region        string
	PublicCert, PublicKey string
	RootKeyFile           string
	CredentialsFile       string
	KeyRotationPeriod     string

	GossipListen, GossipAdvertise string
	GossipSeeds                   []string
	GossipKeyFile, GossipLabel    string
}

func defaultServerSettings() serverSettings {
	return serverSettings{
		DataDir: "./data", Zone: "default",
		Log:           logSettings{Level: "info", Format: "text"},
		MetaListen:    "0.0.0.0:7000",
		StorageListen: "0.0.0.0:7100",
		HTTPAddr:      "0.0.0.0:8080",
		Domain:        "localhost", Region: "local",
	}
}

var serverOptions = []option[serverSettings]{
	{"roles", "comma-separated roles to run: meta, storage, gateway", func(s *serverSettings) any { return &s.Roles }},
	{"node-id", "stable id of this process (raft server id, storage node id)", func(s *serverSettings) any { return &s.NodeID }},
	{"data", "data directory (meta state in <data>/meta, shards in <data>/storage)", func(s *serverSettings) any { return &s.DataDir }},
	{"zone", "failure domain of the storage node", func(s *serverSettings) any { return &s.Zone }},
	{"log-level", "debug, info, warn or error", func(s *serverSettings) any { return &s.Log.Level }},
	{"log-format", "text or json", func(s *serverSettings) any { return &s.Log.Format }},
	{"tls-ca", "cluster CA certificate (PEM)", func(s *serverSettings) any { return &s.TLSCA }},
	{"tls-cert", "this node's certificate (PEM), issued by the cluster CA", func(s *serverSettings) any { return &s.TLSCert }},
	{"tls-key", "this node's private key (PEM)", func(s *serverSettings) any { return &s.TLSKey }},
	{"meta-listen", "meta role: raft and internal RPC listen address", func(s *serverSettings) any { return &s.MetaListen }},
	{"meta-advertise", "meta role: address peers dial (default the listen address)", func(s *serverSettings) any { return &s.MetaAdvertise }},
	{"meta-bootstrap", "meta role: initial voters as id=host:port,... (identical on every voter)", func(s *serverSettings) any { return &s.MetaBootstrap }},
	{"meta-join", "meta role: addresses of existing voters to join", func(s *serverSettings) any { return &s.MetaJoin }},
	{"meta-addrs", "meta voter addresses to use as a client (default: this process's voter, or the bootstrap voters)", func(s *serverSettings) any { return &s.MetaAddrs }},
	{"storage-listen", "storage role: shard RPC listen address", func(s *serverSettings) any { return &s.StorageListen }},
	{"storage-advertise", "storage role: shard RPC address registered in the layout (default the listen address)", func(s *serverSettings) any { return &s.StorageAdvertise }},
	{"storage-capacity", "storage role: usable capacity in bytes recorded in the layout (0: unknown)", func(s *serverSettings) any { return &s.StorageCapacity }},
	{"storage-free-bytes-min", "storage role: below this much free space the store is read-only (0: node default, -1: off)", func(s *serverSettings) any { return &s.StorageFreeBytesMin }},
	{"http-addr", "gateway role: HTTP listen address (empty: no HTTP)", func(s *serverSettings) any { return &s.HTTPAddr }},
	{"https-addr", "gateway role: HTTPS listen address (empty: no HTTPS)", func(s *serverSettings) any { return &s.HTTPSAddr }},
	{"domain", "gateway role: base domain for virtual-host buckets", func(s *serverSettings) any { return &s.Domain }},
	{"region", "gateway role: COS region label", func(s *serverSettings) any { return &s.Region }},
	{"public-cert", "gateway role: HTTPS certificate (default --tls-cert)", func(s *serverSettings) any { return &s.PublicCert }},
	{"public-key", "gateway role: HTTPS private key (default --tls-key)", func(s *serverSettings) any { return &s.PublicKey }},
	{"root-key-file", "gateway role: file with the 32-byte root key (raw or hex); env COFFER_ROOT_KEY (hex) wins", func(s *serverSettings) any { return &s.RootKeyFile }},
	{"credentials-file", "gateway role: root credentials file; env COFFER_ROOT_ACCESS_KEY/COFFER_ROOT_SECRET_KEY win", func(s *serverSettings) any { return &s.CredentialsFile }},
	{"key-rotation-period", "gateway role: rotate the master key when the active version is this old, e.g. 720h (empty or 0: on demand only)", func(s *serverSettings) any { return &s.KeyRotationPeriod }},
	{"gossip-listen", "gossip pool listen address host:port (empty: no gossip)", func(s *serverSettings) any { return &s.GossipListen }},
	{"gossip-advertise", "gossip address peers reach this process at (default: picked by memberlist)", func(s *serverSettings) any { return &s.GossipAdvertise }},
	{"gossip-seeds", "gossip addresses of processes to join", func(s *serverSettings) any { return &s.GossipSeeds }},
	{"gossip-key-file", "file with the 16, 24 or 32-byte gossip encryption key (raw)", func(s *serverSettings) any { return &s.GossipKeyFile }},
	{"gossip-label", "gossip cluster label keeping separate clusters apart", func(s *serverSettings) any { return &s.GossipLabel }},
}

// tlsFiles names a node's mutual-TLS material.
type tlsFiles struct{ CA, Cert, Key string }

// metaConfig configures the meta role.
type metaConfig struct {
	ID        string
	DataDir   string
	Listen    string
	Advertise string
	Bootstrap []cluster.Peer
	Join      []string
}

// storageConfig configures the storage role.
type storageConfig struct {
	ID            string
	Zone          string
	DataDir       string
	Listen        string
	Advertise     string
	CapacityBytes int64
	FreeBytesMin  int64
}

// gatewayConfig configures the gateway role.
type gatewayConfig struct {
	HTTPAddr, HTTPSAddr   string
	Domain, Region        string
	PublicCert, PublicKey string
	RootKeyFile           string
	CredentialsFile       string
	// KeyRotationPeriod is the scheduled master-key rotation period; 0: on demand only.
	KeyRotationPeriod time.Duration
}

// gossipConfig configures this process's membership in the gossip pool.
type gossipConfig struct {
	BindHost      string
	BindPort      int
	AdvertiseHost string // empty: memberlist picks
	AdvertisePort int
	Seeds         []string
	KeyFile       string
	Label         string
}

// serverConfig is a validated `coffer server` configuration: one config per role it
// runs (nil for the others).
type serverConfig struct {
	NodeID    string
	Log       logSettings
	TLS       tlsFiles
	MetaAddrs []string // meta voters this process talks to as a client
	Meta      *metaConfig
	Storage   *storageConfig
	Gateway   *gatewayConfig
	Gossip    *gossipConfig // nil: no gossip
}

// config checks s and turns it into per-role configs, reporting every problem.
func (s serverSettings) config() (serverConfig, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	c := serverConfig{NodeID: s.NodeID, Log: s.Log, TLS: tlsFiles{s.TLSCA, s.TLSCert, s.TLSKey}}
	errs = append(errs, s.Log.validate()...)

	roles := map[string]bool{}
	for _, r := range s.Roles {
		switch r {
		case roleMeta, roleStorage, roleGateway:
			roles[r] = true
		default:
			bad("roles: unknown role %q (want meta, storage, gateway)", r)
		}
	}
	if len(s.Roles) == 0 {
		bad("roles: at least one of meta, storage, gateway is required")
	}
	if s.NodeID == "" {
		bad("node-id is required")
	} else if len(s.NodeID) > cluster.IDBytesMax || strings.ContainsAny(s.NodeID, " \t\n/=,") {
		bad("node-id %q: at most %d bytes, no spaces, '/', '=' or ','", s.NodeID, cluster.IDBytesMax)
	}
	if s.DataDir == "" && (roles[roleMeta] || roles[roleStorage]) {
		bad("data: a data directory is required for the meta and storage roles")
	}
	if s.TLSCA == "" || s.TLSCert == "" || s.TLSKey == "" {
		bad("tls-ca, tls-cert and tls-key are required (internal traffic is mutual TLS)")
	}

	if roles[roleMeta] {
		m := &metaConfig{ID: s.NodeID, DataDir: filepath.Join(s.DataDir, "meta"), Listen: s.MetaListen, Advertise: s.MetaAdvertise, Join: s.MetaJoin}
		if err := checkListen("meta-listen", s.MetaListen); err != nil {
			errs = append(errs, err)
		}
		if m.Advertise == "" {
			if err := checkAdvertisable("meta-listen", s.MetaListen); err != nil {
				errs = append(errs, fmt.Errorf("%w; set meta-advertise", err))
			}
			m.Advertise = s.MetaListen
		} else if err := checkHostPort("meta-advertise", m.Advertise); err != nil {
			errs = append(errs, err)
		}
		for _, b := range s.MetaBootstrap {
			id, addr, ok := strings.Cut(b, "=")
			if !ok || id == "" {
				bad("meta-bootstrap: %q: want id=host:port", b)
				continue
			}
			if err := checkHostPort("meta-bootstrap "+id, addr); err != nil {
				errs = append(errs, err)
			}
			m.Bootstrap = append(m.Bootstrap, cluster.Peer{ID: id, Addr: addr})
		}
		if len(m.Bootstrap) == 0 && len(m.Join) == 0 {
			// A lone voter: it bootstraps a one-voter group on first start.
			m.Bootstrap = []cluster.Peer{{ID: s.NodeID, Addr: m.Advertise}}
		}
		if inBoot := slices.ContainsFunc(m.Bootstrap, func(p cluster.Peer) bool { return p.ID == s.NodeID }); len(m.Bootstrap) > 0 && !inBoot && len(m.Join) == 0 {
			bad("meta-bootstrap does not list this node (%q) and meta-join is empty: it could never become a voter", s.NodeID)
		}
		c.Meta = m
	}

	if roles[roleStorage] {
		st := &storageConfig{ID: s.NodeID, Zone: s.Zone, DataDir: filepath.Join(s.DataDir, "storage"),
			Listen: s.StorageListen, Advertise: s.StorageAdvertise, CapacityBytes: s.StorageCapacity, FreeBytesMin: s.StorageFreeBytesMin}
		if err := checkListen("storage-listen", s.StorageListen); err != nil {
			errs = append(errs, err)
		}
		if st.Advertise == "" {
			if err := checkAdvertisable("storage-listen", s.StorageListen); err != nil {
				errs = append(errs, fmt.Errorf("%w; set storage-advertise", err))
			}
			st.Advertise = s.StorageListen
		} else if err := checkHostPort("storage-advertise", st.Advertise); err != nil {
			errs = append(errs, err)
		}
		if s.Zone == "" {
			bad("zone is required for the storage role")
		}
		if s.StorageCapacity < 0 {
			bad("storage-capacity %d is negative", s.StorageCapacity)
		}
		c.Storage = st
	}

	if roles[roleGateway] {
		g := &gatewayConfig{HTTPAddr: s.HTTPAddr, HTTPSAddr: s.HTTPSAddr, Domain: s.Domain, Region: s.Region,
			PublicCert: s.PublicCert, PublicKey: s.PublicKey, RootKeyFile: s.RootKeyFile, CredentialsFile: s.CredentialsFile}
		if g.HTTPAddr == "" && g.HTTPSAddr == "" {
			bad("gateway role: set http-addr, https-addr or both")
		}
		for name, a := range map[string]string{"http-addr": g.HTTPAddr, "https-addr": g.HTTPSAddr} {
			if a == "" {
				continue
			}
			if err := checkListen(name, a); err != nil {
				errs = append(errs, err)
			}
		}
		if (g.PublicCert == "") != (g.PublicKey == "") {
			bad("public-cert and public-key go together")
		}
		if g.PublicCert == "" {
			g.PublicCert, g.PublicKey = s.TLSCert, s.TLSKey
		}
		errs = append(errs, checkDomain(s.Domain, s.Region)...)
		if s.KeyRotationPeriod != "" {
			d, err := time.ParseDuration(s.KeyRotationPeriod)
			if err != nil || d < 0 {
				bad("key-rotation-period %q is not a non-negative duration such as 720h", s.KeyRotationPeriod)
			}
			g.KeyRotationPeriod = max(d, 0)
		}
		c.Gateway = g
	}

	if roles[roleStorage] || roles[roleGateway] {
		switch {
		case len(s.MetaAddrs) > 0:
			c.MetaAddrs = s.MetaAddrs
		case c.Meta != nil:
			c.MetaAddrs = []string{c.Meta.Advertise}
		case len(s.MetaBootstrap) > 0:
			for _, p := range s.MetaBootstrap {
				if _, addr, ok := strings.Cut(p, "="); ok {
					c.MetaAddrs = append(c.MetaAddrs, addr)
				}
			}
		default:
			bad("meta-addrs is required: the storage and gateway roles talk to the meta voters")
		}
		for _, a := range c.MetaAddrs {
			if err := checkHostPort("meta-addrs", a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if s.GossipListen != "" {
		g := &gossipConfig{Seeds: s.GossipSeeds, KeyFile: s.GossipKeyFile, Label: s.GossipLabel}
		var err error
		if g.BindHost, g.BindPort, err = splitPort("gossip-listen", s.GossipListen); err != nil {
			errs = append(errs, err)
		}
		if s.GossipAdvertise != "" {
			if g.AdvertiseHost, g.AdvertisePort, err = splitPort("gossip-advertise", s.GossipAdvertise); err != nil {
				errs = append(errs, err)
			}
		}
		for _, seed := range s.GossipSeeds {
			if err := checkHostPort("gossip-seeds", seed); err != nil {
				errs = append(errs, err)
			}
		}
		if g.KeyFile == "" {
			bad("gossip-key-file is required with gossip-listen: gossip is always encrypted")
		}
		c.Gossip = g
	}
	if len(errs) > 0 {
		return serverConfig{}, errors.Join(errs...)
	}
	return c, nil
}

// splitPort splits host:port with a numeric port.
func splitPort(name, a string) (string, int, error) {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: want host:port", name, a)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: bad port", name, a)
	}
	return host, int(n), nil
}

// checkHostPort checks that a is host:port with a numeric port.
func checkHostPort(name, a string) error {
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%s %q: want host:port", name, a)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return fmt.Errorf("%s %q: bad port", name, a)
	}
	return nil
}

// checkListen checks a listen address (host may be empty: every interface).
func checkListen(name, a string) error { return checkHostPort(name, a) }

// checkAdvertisable fails for a listen address other nodes could not dial as is.
func checkAdvertisable(name, a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return nil // reported by checkListen
	}
	ip := net.ParseIP(host)
	if host == "" || (ip != nil && ip.IsUnspecified()) || port == "0" {
		return fmt.Errorf("%s %q has no specific address to advertise", name, a)
	}
	return nil
}

// checkDomain checks the gateway's addressing names.
func checkDomain(domain, region string) []error {
	var errs []error
	if domain == "" || strings.ContainsAny(domain, " /:*") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		errs = append(errs, fmt.Errorf("domain %q: want a host name like localhost or example.com", domain))
	}
	if region == "" || strings.ContainsAny(region, " /:.*") {
		errs = append(errs, fmt.Errorf("region %q: want a label like ap-guangzhou", region))
	}
	return errs
}
