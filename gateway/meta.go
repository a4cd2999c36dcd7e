package gateway

import (
	"context"

	"github.com/coffer-io/coffer/cluster/meta"
)

// Meta is the metadata cluster as the gateway uses it. cluster.Client implements it;
// every method is linearizable unless its doc says otherwise, and errors wrap the
// meta sentinels (meta.ErrBucketNotFound, ...).
type Meta interface {
	// Apply commits one command through Raft and returns its result; a failed command
	// is reported as an error wrapping a meta sentinel.
	Apply(ctx context.Context, cmd meta.Command) (*meta.Result, error)

	GetBucket(ctx context.Context, name string) (*meta.Bucket, error)
	ListBuckets(ctx context.Context, owner string) ([]meta.Bucket, error)
	GetObject(ctx context.Context, bucket, key string) (*meta.Version, error)
	ListObjects(ctx context.Context, bucket string, opts meta.ListObjectsOptions) (meta.ListObjectsResult, error)
	GetUpload(ctx context.Context, bucket, key string, id meta.ID) (*meta.Upload, error)
	ListUploads(ctx context.Context, bucket string, opts meta.ListUploadsOptions) (meta.ListUploadsResult, error)
	ListParts(ctx context.Context, bucket, key string, id meta.ID, opts meta.ListPartsOptions) (meta.ListPartsResult, error)
	GetUser(ctx context.Context, accessKeyID string) (*meta.User, error)
	// GetCMK returns a KMS key (meta.ErrCMKNotFound when there is none); ListCMKs
	// returns them all.
	GetCMK(ctx context.Context, id string) (*meta.CMK, error)
	ListCMKs(ctx context.Context) ([]meta.CMK, error)
	KeyRing(ctx context.Context) (meta.KeyRing, error)
	Layout(ctx context.Context) (meta.ClusterLayout, error)
	GarbageList(ctx context.Context, after uint64, limit int) ([]meta.GarbageItem, error)

	// Census returns, per master-key version, how many data keys it seals.
	Census(ctx context.Context) (map[uint32]uint64, error)
	// VersionsByMasterKey pages through the data keys sealed under master-key version
	// v, after the reference after (nil: from the start).
	VersionsByMasterKey(ctx context.Context, v uint32, after *meta.KeyRef, limit int) ([]meta.KeyRef, error)
	// Rewrap replaces sealed data keys that are still what the items expect and
	// returns how many it replaced.
	Rewrap(ctx context.Context, items []meta.RewrapItem) (int, error)
}
