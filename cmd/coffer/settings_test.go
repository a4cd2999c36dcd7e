package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/coffer-io/coffer/cluster"
	"github.com/google/go-cmp/cmp"
)

// fakeSource serves env variables and files from maps.
func fakeSource(envs, files map[string]string) source {
	return source{
		env: func(k string) (string, bool) { v, ok := envs[k]; return v, ok },
		readFile: func(p string) ([]byte, error) {
			if v, ok := files[p]; ok {
				return []byte(v), nil
			}
			return nil, fs.ErrNotExist
		},
	}
}

func TestLoadServerPrecedence(t *testing.T) {
	const file = `
roles: [meta, storage]
node_id: from-file
zone: z-file
meta_bootstrap:
  - a=10.0.0.1:7000
  - b=10.0.0.2:7000
storage_capacity: 1000
http_addr: ""
`
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		files map[string]string
		want  func(s *serverSettings)
	}{
		{"defaults", nil, nil, nil, func(*serverSettings) {}},
		{"file", []string{"--config", "c.yaml"}, nil, map[string]string{"c.yaml": file}, func(s *serverSettings) {
			s.Roles, s.NodeID, s.Zone = []string{"meta", "storage"}, "from-file", "z-file"
			s.MetaBootstrap = []string{"a=10.0.0.1:7000", "b=10.0.0.2:7000"}
			s.StorageCapacity, s.HTTPAddr = 1000, ""
		}},
		{"config path from env", nil, map[string]string{"COFFER_CONFIG": "c.yaml"}, map[string]string{"c.yaml": file}, func(s *serverSettings) {
			s.Roles, s.NodeID, s.Zone = []string{"meta", "storage"}, "from-file", "z-file"
			s.MetaBootstrap = []string{"a=10.0.0.1:7000", "b=10.0.0.2:7000"}
			s.StorageCapacity, s.HTTPAddr = 1000, ""
		}},
		{"env beats file", []string{"--config", "c.yaml"},
			map[string]string{"COFFER_NODE_ID": "from-env", "COFFER_ROLES": "gateway, storage", "COFFER_STORAGE_CAPACITY": "7"},
			map[string]string{"c.yaml": file}, func(s *serverSettings) {
				s.Roles, s.NodeID, s.Zone = []string{"gateway", "storage"}, "from-env", "z-file"
				s.MetaBootstrap = []string{"a=10.0.0.1:7000", "b=10.0.0.2:7000"}
				s.StorageCapacity, s.HTTPAddr = 7, ""
			}},
		{"flags beat env and file", []string{"--config=c.yaml", "--node-id", "from-flag", "--meta-bootstrap", "x=h:1,,y=h:2", "--zone="},
			map[string]string{"COFFER_NODE_ID": "from-env", "COFFER_ZONE": "z-env"},
			map[string]string{"c.yaml": file}, func(s *serverSettings) {
				s.Roles, s.NodeID, s.Zone = []string{"meta", "storage"}, "from-flag", ""
				s.MetaBootstrap = []string{"x=h:1", "y=h:2"}
				s.StorageCapacity, s.HTTPAddr = 1000, ""
			}},
		{"last flag wins", []string{"--data", "/a", "--data", "/b"}, nil, nil, func(s *serverSettings) { s.DataDir = "/b" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaultServerSettings()
			var cf string
			if err := load("server", serverOptions, &got, &cf, tt.args, fakeSource(tt.env, tt.files), io.Discard); err != nil {
				t.Fatal(err)
			}
			want := defaultServerSettings()
			tt.want(&want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("settings (-want +got):\n%s", d)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		files map[string]string
		want  []string // every one must be reported
	}{
		{"unknown key and bad int", []string{"--config", "c.yaml"}, nil,
			map[string]string{"c.yaml": "nodeid: x\nstorage_capacity: lots\n"}, []string{`unknown key "nodeid"`, "not an integer"}},
		{"not a mapping", []string{"--config", "c.yaml"}, nil, map[string]string{"c.yaml": "- a\n- b\n"}, []string{"mapping"}},
		{"nested value", []string{"--config", "c.yaml"}, nil, map[string]string{"c.yaml": "zone: {a: b}\n"}, []string{"single value"}},
		{"bad yaml", []string{"--config", "c.yaml"}, nil, map[string]string{"c.yaml": "zone: [\n"}, []string{"c.yaml"}},
		{"missing file", []string{"--config", "nope.yaml"}, nil, nil, []string{"nope.yaml"}},
		{"bad env and bad flag together", []string{"--storage-capacity", "x"}, map[string]string{"COFFER_STORAGE_CAPACITY": "y"}, nil,
			[]string{"env COFFER_STORAGE_CAPACITY", "flag --storage-capacity"}},
		{"positional", []string{"stray"}, nil, nil, []string{"unexpected argument"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultServerSettings()
			var cf string
			err := load("server", serverOptions, &s, &cf, tt.args, fakeSource(tt.env, tt.files), io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadEmptyConfig(t *testing.T) {
	s := defaultServerSettings()
	var cf string
	if err := load("server", serverOptions, &s, &cf, []string{"--config", "e.yaml"}, fakeSource(nil, map[string]string{"e.yaml": "# nothing\n"}), io.Discard); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(defaultServerSettings(), s); d != "" {
		t.Errorf("an empty file changed settings:\n%s", d)
	}
}

func TestDevSettings(t *testing.T) {
	s := defaultDevSettings()
	env := map[string]string{"COFFER_DOMAIN": "example.com", "COFFER_HTTP_ADDR": "0.0.0.0:9000"}
	if err := load("dev", devOptions, &s, nil, []string{"--data", "/d", "--https-addr", "", "--log-format", "json"}, fakeSource(env, nil), io.Discard); err != nil {
		t.Fatal(err)
	}
	want := devSettings{DataDir: "/d", HTTPAddr: "0.0.0.0:9000", HTTPSAddr: "", Domain: "example.com", Region: "local",
		Log: logSettings{Level: "info", Format: "json"}}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("valid settings: %v", err)
	}
	// dev takes no config file.
	if err := load("dev", devOptions, &s, nil, []string{"--config", "x"}, fakeSource(nil, nil), io.Discard); err == nil {
		t.Error("dev accepted --config")
	}
	bad := devSettings{HTTPAddr: "nope", HTTPSAddr: "1.2.3.4", Domain: ".x", Region: "a.b", Log: logSettings{"loud", "xml"}}
	err := bad.Validate()
	for _, w := range []string{"data", "http-addr", "https-addr", "domain", "region", "log level", "log format"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate of %+v: %v lacks %q", bad, err, w)
		}
	}
}

func TestServerConfig(t *testing.T) {
	base := func() serverSettings {
		s := defaultServerSettings()
		s.NodeID, s.DataDir = "n1", "/data"
		s.TLSCA, s.TLSCert, s.TLSKey = "ca.pem", "n1.pem", "n1-key.pem"
		return s
	}
	tests := []struct {
		name string
		edit func(s *serverSettings)
		want func(c *serverConfig) // nil: expect errors
		errs []string
	}{
		{"all roles, lone voter", func(s *serverSettings) {
			s.Roles = []string{"meta", "storage", "gateway"}
			s.MetaListen, s.StorageListen = "10.0.0.1:7000", "10.0.0.1:7100"
		}, func(c *serverConfig) {
			c.MetaAddrs = []string{"10.0.0.1:7000"}
			c.Meta = &metaConfig{ID: "n1", DataDir: "/data/meta", Listen: "10.0.0.1:7000", Advertise: "10.0.0.1:7000",
				Bootstrap: []cluster.Peer{{ID: "n1", Addr: "10.0.0.1:7000"}}}
			c.Storage = &storageConfig{ID: "n1", Zone: "default", DataDir: "/data/storage", Listen: "10.0.0.1:7100", Advertise: "10.0.0.1:7100"}
			c.Gateway = &gatewayConfig{HTTPAddr: "0.0.0.0:8080", Domain: "localhost", Region: "local", PublicCert: "n1.pem", PublicKey: "n1-key.pem"}
		}, nil},
		{"storage only, meta addrs from bootstrap", func(s *serverSettings) {
			s.Roles = []string{"storage"}
			s.StorageAdvertise = "n1:7100"
			s.MetaBootstrap = []string{"m1=m1:7000", "m2=m2:7000"}
			s.RootKeyFile = "root.key"
		}, func(c *serverConfig) {
			c.MetaAddrs = []string{"m1:7000", "m2:7000"}
			c.Storage = &storageConfig{ID: "n1", Zone: "default", DataDir: "/data/storage", Listen: "0.0.0.0:7100", Advertise: "n1:7100"}
		}, nil},
		{"joining voter", func(s *serverSettings) {
			s.Roles = []string{"meta"}
			s.MetaAdvertise = "n1:7000"
			s.MetaJoin = []string{"m1:7000"}
		}, func(c *serverConfig) {
			c.Meta = &metaConfig{ID: "n1", DataDir: "/data/meta", Listen: "0.0.0.0:7000", Advertise: "n1:7000", Join: []string{"m1:7000"}}
		}, nil},
		{"everything wrong at once", func(s *serverSettings) {
			s.Roles = []string{"meta", "storage", "gateway", "oracle"}
			s.NodeID, s.TLSKey = "", ""
			s.Log = logSettings{"chatty", "yaml"}
			s.MetaBootstrap = []string{"noequals", "x=nohost"}
			s.StorageCapacity, s.Zone = -1, ""
			s.HTTPAddr, s.HTTPSAddr = "", ""
			s.PublicCert = "p.pem"
			s.Domain = ""
		}, nil, []string{`unknown role "oracle"`, "node-id is required", "tls-ca, tls-cert and tls-key", "log level", "log format",
			"meta-listen", "set meta-advertise", `"noequals"`, "meta-bootstrap x", "storage-advertise", "zone is required",
			"storage-capacity -1", "http-addr, https-addr or both", "public-cert and public-key", "domain"}},
		{"no roles, bootstrap without self", func(s *serverSettings) {
			s.Roles = nil
		}, nil, []string{"at least one of"}},
		{"voter outside bootstrap without join", func(s *serverSettings) {
			s.Roles = []string{"meta"}
			s.MetaAdvertise = "n1:7000"
			s.MetaBootstrap = []string{"m1=m1:7000"}
		}, nil, []string{"could never become a voter"}},
		{"gossip", func(s *serverSettings) {
			s.Roles = []string{"storage"}
			s.StorageAdvertise, s.MetaAddrs = "n1:7100", []string{"m:7000"}
			s.GossipListen, s.GossipAdvertise, s.GossipSeeds = "0.0.0.0:7946", "n1:7946", []string{"m:7946"}
			s.GossipKeyFile, s.GossipLabel = "gossip.key", "prod"
		}, func(c *serverConfig) {
			c.MetaAddrs = []string{"m:7000"}
			c.Storage = &storageConfig{ID: "n1", Zone: "default", DataDir: "/data/storage", Listen: "0.0.0.0:7100", Advertise: "n1:7100"}
			c.Gossip = &gossipConfig{BindHost: "0.0.0.0", BindPort: 7946, AdvertiseHost: "n1", AdvertisePort: 7946,
				Seeds: []string{"m:7946"}, KeyFile: "gossip.key", Label: "prod"}
		}, nil},
		{"gossip errors", func(s *serverSettings) {
			s.Roles = []string{"storage"}
			s.StorageAdvertise, s.MetaAddrs = "n1:7100", []string{"m:7000"}
			s.GossipListen, s.GossipAdvertise, s.GossipSeeds = "0.0.0.0:99999", "n1", []string{"seed"}
		}, nil, []string{"gossip-listen", "gossip-advertise", "gossip-seeds", "gossip-key-file is required"}},
		{"gateway without meta", func(s *serverSettings) {
			s.Roles = []string{"gateway"}
		}, nil, []string{"meta-addrs is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.edit(&s)
			got, err := s.config()
			if tt.want == nil {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.errs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := serverConfig{NodeID: "n1", Log: logSettings{"info", "text"}, TLS: tlsFiles{"ca.pem", "n1.pem", "n1-key.pem"}}
			tt.want(&want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("config (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{{"debug", true}, {"INFO", true}, {"warn", true}, {"error", true}, {"", false}, {"verbose", false}} {
		_, err := parseLevel(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseLevel(%q) = %v", tt.in, err)
		}
	}
	if _, err := newLogger(io.Discard, logSettings{"info", "xml"}); err == nil {
		t.Error("newLogger accepted format xml")
	}
	if err := errors.Join(logSettings{"info", "json"}.validate()...); err != nil {
		t.Error(err)
	}
}

// TestExampleConfig keeps testdata/server.yaml, the documented example, loadable.
func TestExampleConfig(t *testing.T) {
	s := defaultServerSettings()
	var cf string
	src := source{env: noEnv, readFile: os.ReadFile}
	if err := load("server", serverOptions, &s, &cf, []string{"--config", "testdata/server.yaml", "--log-level", "debug"}, src, io.Discard); err != nil {
		t.Fatal(err)
	}
	c, err := s.config()
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta == nil || c.Storage == nil || c.Gateway == nil || c.Gossip == nil {
		t.Fatalf("example does not run every role: %+v", c)
	}
	if len(c.Meta.Bootstrap) != 3 || c.MetaAddrs[0] != "n1:7000" || c.Gateway.PublicCert != "/etc/coffer/tls/n1.pem" ||
		c.Gossip.AdvertiseHost != "n1" || c.Log.Level != "debug" || c.Log.Format != "json" {
		t.Errorf("example config read as %+v / %+v / %+v", c, *c.Meta, *c.Gossip)
	}
}
