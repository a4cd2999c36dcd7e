package node

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Defaults for Config fields left zero.
const (
	// DefaultInlineMaxBytes: shards smaller than this live inline in Pebble.
	DefaultInlineMaxBytes = 128 << 10
	// DefaultShardMaxBytes caps one stored shard (a 4+2 stripe of 256 KiB blocks covers
	// 1 MiB per block row, so 1 GiB per shard is a 4 GiB part).
	DefaultShardMaxBytes = 1 << 30
	// DefaultFreeBytesMin: below this much free space the store is read-only.
	DefaultFreeBytesMin = 1 << 30
	// DefaultWriteErrorsMax consecutive write errors make the store read-only.
	DefaultWriteErrorsMax = 8
	// DefaultSweepGrace is how old an unknown version's shards must be before the
	// sweeper removes them.
	DefaultSweepGrace = time.Hour
	// DefaultCacheBytes is Pebble's block cache size.
	DefaultCacheBytes = 64 << 20
	// DefaultMemTableBytes is Pebble's memtable size.
	DefaultMemTableBytes = 32 << 20
	// DefaultPutsMax is how many puts may run at once; more wait.
	DefaultPutsMax = 64
	// DefaultDiskUsageInterval is how long a free-space measurement is reused.
	DefaultDiskUsageInterval = time.Second
)

// Limits that are not configurable.
const (
	// InlineMaxBytesMax bounds Config.InlineMaxBytes: an inline shard is one Pebble value.
	InlineMaxBytesMax = 4 << 20
	// frameBytesMax bounds one frame (digest + block) the store will buffer.
	frameBytesMax = 64 << 20
)

// DiskUsage is the space of the filesystem holding a store's data directory.
type DiskUsage struct {
	AvailBytes uint64 // free to unprivileged users
	TotalBytes uint64
	UsedBytes  uint64
}

// Config configures a Store. The zero value with Dir set is a valid configuration.
type Config struct {
	// Dir is the data directory. It holds "index" (Pebble) and "shards" (files).
	// Required unless FS is set (then it is a directory inside FS; default "/").
	Dir string
	// FS, when set, holds both the index and the shard files (tests: vfs.NewMem(),
	// fault-injecting wrappers). When nil the store uses the real disk: Pebble on
	// vfs.Default and shard files through an os.Root at Dir/shards.
	FS vfs.FS
	// InlineMaxBytes: shards with a total size below it are stored inline in Pebble.
	// Default DefaultInlineMaxBytes; at most InlineMaxBytesMax. Negative: never inline.
	InlineMaxBytes int64
	// ShardMaxBytes is the largest shard Put accepts. Default DefaultShardMaxBytes.
	ShardMaxBytes int64
	// FreeBytesMin: while the data directory's free space is below it, Put returns
	// ErrReadOnly. Default DefaultFreeBytesMin; negative disables the check.
	FreeBytesMin int64
	// WriteErrorsMax consecutive write errors make the store read-only until it is
	// reopened. Default DefaultWriteErrorsMax.
	WriteErrorsMax int
	// PutsMax is how many puts run at once; further puts wait for a slot or their
	// context. Default DefaultPutsMax.
	PutsMax int
	// SweepGrace: the sweeper removes shards of versions metadata does not know only
	// when they are older than this. Default DefaultSweepGrace.
	SweepGrace time.Duration
	// CacheBytes is Pebble's block cache. Default DefaultCacheBytes.
	CacheBytes int64
	// MemTableBytes is Pebble's memtable size. Default DefaultMemTableBytes.
	MemTableBytes int64
	// DiskUsageInterval is how long a free-space measurement is reused. Default
	// DefaultDiskUsageInterval.
	DiskUsageInterval time.Duration
	// DiskUsage measures the data directory's filesystem (statfs). Default: the FS's
	// GetDiskUsage (vfs.Default for the real disk).
	DiskUsage func(dir string) (DiskUsage, error)
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives Pebble's messages and the store's warnings. Default: discard.
	Logger *slog.Logger
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.FS != nil && c.Dir == "" {
		c.Dir = "/"
	}
	if c.InlineMaxBytes == 0 {
		c.InlineMaxBytes = DefaultInlineMaxBytes
	}
	if c.ShardMaxBytes == 0 {
		c.ShardMaxBytes = DefaultShardMaxBytes
	}
	if c.FreeBytesMin == 0 {
		c.FreeBytesMin = DefaultFreeBytesMin
	}
	if c.WriteErrorsMax == 0 {
		c.WriteErrorsMax = DefaultWriteErrorsMax
	}
	if c.PutsMax == 0 {
		c.PutsMax = DefaultPutsMax
	}
	if c.SweepGrace == 0 {
		c.SweepGrace = DefaultSweepGrace
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	if c.MemTableBytes == 0 {
		c.MemTableBytes = DefaultMemTableBytes
	}
	if c.DiskUsageInterval == 0 {
		c.DiskUsageInterval = DefaultDiskUsageInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem with c at once. Call EnsureDefaults first.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("node: config: "+format, args...)) }
	if c.Dir == "" {
		bad("Dir is required")
	}
	if c.InlineMaxBytes > InlineMaxBytesMax {
		bad("InlineMaxBytes %d above %d", c.InlineMaxBytes, InlineMaxBytesMax)
	}
	if c.ShardMaxBytes < 0 {
		bad("ShardMaxBytes %d is negative", c.ShardMaxBytes)
	}
	if c.InlineMaxBytes > 0 && c.ShardMaxBytes > 0 && c.ShardMaxBytes < c.InlineMaxBytes {
		bad("ShardMaxBytes %d below InlineMaxBytes %d", c.ShardMaxBytes, c.InlineMaxBytes)
	}
	if c.WriteErrorsMax < 0 {
		bad("WriteErrorsMax %d is negative", c.WriteErrorsMax)
	}
	if c.PutsMax < 0 {
		bad("PutsMax %d is negative", c.PutsMax)
	}
	if c.SweepGrace < 0 {
		bad("SweepGrace %v is negative", c.SweepGrace)
	}
	if c.CacheBytes < 0 {
		bad("CacheBytes %d is negative", c.CacheBytes)
	}
	if c.MemTableBytes < 0 || (c.MemTableBytes > 0 && c.MemTableBytes < 1<<20) {
		bad("MemTableBytes %d must be at least 1 MiB", c.MemTableBytes)
	}
	if c.DiskUsageInterval < 0 {
		bad("DiskUsageInterval %v is negative", c.DiskUsageInterval)
	}
	return errors.Join(errs...)
}
