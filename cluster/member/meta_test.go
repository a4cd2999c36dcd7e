package member

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []NodeMeta{
		{},
		{Roles: []string{RoleStorage}, RPCAddr: "10.0.0.5:9000", Zone: "rack1", ProtocolVersion: 3},
		{Roles: []string{RoleMeta, RoleStorage, RoleGateway}, RPCAddr: "[::1]:9000", RaftAddr: "[::1]:7000", APIAddr: "0.0.0.0:443", Zone: "z", ProtocolVersion: 1, Leaving: true},
	} {
		b, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode(%+v): %v", m, err)
		}
		if b[0] != MetaFormat || len(b) > MetaMaxBytes {
			t.Fatalf("Encode(%+v) = %q", m, b)
		}
		got, err := DecodeMeta(b)
		if err != nil {
			t.Fatalf("DecodeMeta(%q): %v", b, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip: got %+v, want %+v", got, m)
		}
	}
}

// TestMetaWireExample pins the documented byte layout.
func TestMetaWireExample(t *testing.T) {
	b, err := NodeMeta{Roles: []string{"storage"}, RPCAddr: "10.0.0.5:9000", Zone: "rack1", ProtocolVersion: 3}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "\x01" + `{"r":["storage"],"d":"10.0.0.5:9000","z":"rack1","v":3}`
	if string(b) != want {
		t.Fatalf("Encode = %q, want %q", b, want)
	}
}

func TestDecodeMetaErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"no format byte", `{"r":["storage"]}`},
		{"future format", "\x02{}"},
		{"format only", "\x01"},
		{"bad json", "\x01{"},
		{"wrong type", "\x01" + `{"r":"storage"}`},
		{"trailing data", "\x01{}x"},
		{"two objects", "\x01{}{}"},
		{"array", "\x01[]"},
		{"empty role", "\x01" + `{"r":[""]}`},
		{"too many roles", "\x01" + `{"r":["a","b","c","d","e","f","g","h","i"]}`},
		{"too long", "\x01" + `{"z":"` + strings.Repeat("x", MetaMaxBytes) + `"}`},
		{"negative version", "\x01" + `{"v":-1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := DecodeMeta([]byte(tc.in)); !errors.Is(err, ErrBadMeta) {
				t.Fatalf("DecodeMeta(%q) = %+v, %v; want ErrBadMeta", tc.in, m, err)
			}
		})
	}
}

func TestEncodeMetaLimits(t *testing.T) {
	// Find the largest zone that fits exactly, then one more byte must fail.
	base, err := NodeMeta{}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	overhead := len(base) + len(`"z":""`)
	fits := NodeMeta{Zone: strings.Repeat("z", MetaMaxBytes-overhead)}
	if b, err := fits.Encode(); err != nil || len(b) != MetaMaxBytes {
		t.Fatalf("largest meta: %d bytes, %v", len(b), err)
	}
	fits.Zone += "z"
	if _, err := fits.Encode(); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("meta of %d bytes: %v, want ErrMetaTooLarge", MetaMaxBytes+1, err)
	}
	if _, err := (NodeMeta{Roles: make([]string, RolesMax+1)}).Encode(); !errors.Is(err, ErrBadMeta) {
		t.Fatalf("too many roles: %v, want ErrBadMeta", err)
	}
}

func FuzzDecodeMeta(f *testing.F) {
	for _, m := range []NodeMeta{
		{Roles: []string{RoleStorage}, RPCAddr: "10.0.0.5:9000", Zone: "rack1", ProtocolVersion: 3},
		{Roles: []string{RoleMeta, RoleGateway}, RaftAddr: "r:1", APIAddr: "a:2", Leaving: true},
	} {
		b, _ := m.Encode()
		f.Add(b)
	}
	f.Add([]byte("\x01{}"))
	f.Add([]byte("\x01{\"r\":[\"\\u0000\"],\"l\":true,\"x\":{}}"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			if !errors.Is(err, ErrBadMeta) {
				t.Fatalf("error %v does not wrap ErrBadMeta", err)
			}
			return
		}
		// Whatever decodes must encode within the limit and decode to the same value.
		again, err := m.Encode()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
		m2, err := DecodeMeta(again)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decode: %+v, %v; want %+v", m2, err, m)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	good := func() Config {
		c := Config{Name: "n1", SecretKey: make([]byte, 32), Seeds: []string{"10.0.0.1:7946"}}
		c.EnsureDefaults()
		return c
	}
	if c := good(); c.Validate() != nil {
		t.Fatalf("good config: %v", c.Validate())
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		errs   int // problems Validate must report together
	}{
		{"no name", func(c *Config) { c.Name = "" }, 1},
		{"long name", func(c *Config) { c.Name = strings.Repeat("n", NameBytesMax+1) }, 1},
		{"bad key", func(c *Config) { c.SecretKey = make([]byte, 20) }, 1},
		{"no key", func(c *Config) { c.SecretKey = nil }, 1},
		{"no key plaintext", func(c *Config) { c.SecretKey, c.Plaintext = nil, true }, 0},
		{"bad bind", func(c *Config) { c.BindAddr = "localhost" }, 1},
		{"bad ports", func(c *Config) { c.BindPort, c.AdvertisePort = -1, 70000 }, 2},
		{"bad seeds", func(c *Config) { c.Seeds = []string{"nohost", ":7946", "h:0", "h:x", "h:1"} }, 4},
		{"bad secondary keys", func(c *Config) { c.SecondaryKeys = [][]byte{make([]byte, 16), make([]byte, 5), nil} }, 2},
		{"secondary without primary", func(c *Config) { c.SecretKey, c.Plaintext, c.SecondaryKeys = nil, true, [][]byte{make([]byte, 16)} }, 1},
		{"too many secondary keys", func(c *Config) { c.SecondaryKeys = make([][]byte, SecondaryKeysMax+1) }, SecondaryKeysMax + 2},
		{"long label", func(c *Config) { c.Label = strings.Repeat("l", LabelBytesMax+1) }, 1},
		{"big meta", func(c *Config) { c.Meta.Zone = strings.Repeat("z", MetaMaxBytes) }, 1},
		{"negative durations", func(c *Config) { c.RejoinInterval, c.LeaveGrace = -1, -time.Second }, 2},
		{"probe timeout", func(c *Config) { c.ProbeInterval, c.ProbeTimeout = time.Second, 2*time.Second }, 1},
		{"everything", func(c *Config) {
			c.Name, c.SecretKey, c.Profile, c.Logger = "", []byte{1}, Profile(9), nil
		}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.mutate(&c)
			err := c.Validate()
			n := 0
			if err != nil {
				n = len(err.(interface{ Unwrap() []error }).Unwrap())
				if !errors.Is(err, ErrConfig) {
					t.Errorf("%v does not wrap ErrConfig", err)
				}
			}
			if n != tc.errs {
				t.Fatalf("Validate reported %d problems, want %d: %v", n, tc.errs, err)
			}
		})
	}
	c := good()
	c.Meta.Zone = strings.Repeat("z", MetaMaxBytes)
	if err := c.Validate(); !errors.Is(err, ErrMetaTooLarge) {
		t.Errorf("big meta: %v, want ErrMetaTooLarge", err)
	}
}

func TestEnsureDefaults(t *testing.T) {
	c := Config{DebounceInterval: time.Minute}
	c.EnsureDefaults()
	if c.BindAddr != DefaultBindAddr || c.RejoinInterval != DefaultRejoinInterval ||
		c.LeaveGrace != DefaultLeaveGrace || c.DeadNodeReclaimTime != DefaultDeadNodeReclaimTime || c.Logger == nil {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if c.DebounceMax != time.Minute {
		t.Fatalf("DebounceMax = %v, want raised to DebounceInterval", c.DebounceMax)
	}
}

func BenchmarkMeta(b *testing.B) {
	m := NodeMeta{Roles: []string{RoleMeta, RoleStorage}, RPCAddr: "10.0.0.5:9000", RaftAddr: "10.0.0.5:7000", Zone: "rack1", ProtocolVersion: 3}
	wire, err := m.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("op=encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("op=decode/bytes=%d", len(wire)), func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(wire)))
		for b.Loop() {
			if _, err := DecodeMeta(wire); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestConfigRedactsKeys(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	c := Config{Name: "n", SecretKey: key, SecondaryKeys: [][]byte{[]byte("fedcba9876543210")}}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c), logged.String()} {
		if strings.Contains(s, "0123456789abcdef") || strings.Contains(s, "fedcba") || strings.Contains(s, "48 49 50") || strings.Contains(s, "[48") {
			t.Errorf("key material in %q", s)
		}
		if !strings.Contains(s, "redacted") {
			t.Errorf("no redaction marker in %q", s)
		}
	}
}
