package fsm

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Defaults for Config.
const (
	// DefaultCacheBytes is the default Pebble block cache size.
	DefaultCacheBytes = 64 << 20
	// DefaultMemTableBytes is the default Pebble memtable size.
	DefaultMemTableBytes = 16 << 20
	// DefaultRequestWindow is the default idempotency window in raft log indexes.
	DefaultRequestWindow = 1 << 17
)

// Config configures Open. The zero value plus Dir is valid.
type Config struct {
	// Dir is the directory holding the state machine's database generations (db-N)
	// and the CURRENT file. Required. The FSM owns it: Open deletes db-* entries that
	// CURRENT does not name.
	Dir string
	// FS is the filesystem; default vfs.Default. Tests use vfs.NewMem().
	FS vfs.FS
	// Logger receives Pebble's messages. The default discards Infof and Errorf and
	// panics on Fatalf (Pebble calls it for unrecoverable faults such as a failed WAL
	// write and requires that it not return). Pass a real logger in production.
	Logger pebble.Logger
	// CacheBytes is the Pebble block cache size in bytes; default DefaultCacheBytes.
	CacheBytes int64
	// MemTableBytes is the Pebble memtable size in bytes; default DefaultMemTableBytes.
	MemTableBytes uint64
	// RequestWindow is how many raft log indexes a request id stays deduplicated. It
	// changes results, so it must be equal on every voter; default DefaultRequestWindow.
	RequestWindow uint64
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.FS == nil {
		c.FS = vfs.Default
	}
	if c.Logger == nil {
		c.Logger = discardLogger{}
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	if c.MemTableBytes == 0 {
		c.MemTableBytes = DefaultMemTableBytes
	}
	if c.RequestWindow == 0 {
		c.RequestWindow = DefaultRequestWindow
	}
}

// Validate reports every problem of a defaulted Config at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("fsm: Config.Dir is required"))
	}
	if c.CacheBytes < 0 {
		errs = append(errs, fmt.Errorf("fsm: Config.CacheBytes %d is negative", c.CacheBytes))
	}
	if c.MemTableBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("fsm: Config.MemTableBytes %d is below 1 MiB", c.MemTableBytes))
	}
	if c.RequestWindow < 16 {
		errs = append(errs, fmt.Errorf("fsm: Config.RequestWindow %d is below 16", c.RequestWindow))
	}
	return errors.Join(errs...)
}

// discardLogger drops Pebble's messages; Fatalf still stops the process as Pebble
// expects of a Logger.
type discardLogger struct{}

func (discardLogger) Infof(string, ...any)  {}
func (discardLogger) Errorf(string, ...any) {}
func (discardLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
