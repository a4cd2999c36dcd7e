package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/coffer-io/coffer/cluster"
	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/sse"
)

// ClusterMeta adapts a cluster.Client to Meta. Every read is linearizable.
func ClusterMeta(c *cluster.Client) Meta { return clusterMeta{c} }

type clusterMeta struct{ c *cluster.Client }

var linearizable = cluster.ReadOptions{}

func (m clusterMeta) Apply(ctx context.Context, cmd meta.Command) (*meta.Result, error) {
	return m.c.Apply(ctx, cmd)
}
func (m clusterMeta) GetBucket(ctx context.Context, name string) (*meta.Bucket, error) {
	return m.c.GetBucket(ctx, name)
}
func (m clusterMeta) ListBuckets(ctx context.Context, owner string) ([]meta.Bucket, error) {
	return m.c.ListBuckets(ctx, owner, linearizable)
}
func (m clusterMeta) GetObject(ctx context.Context, bucket, key string) (*meta.Version, error) {
	return m.c.GetObject(ctx, bucket, key)
}
func (m clusterMeta) ListObjects(ctx context.Context, bucket string, o meta.ListObjectsOptions) (meta.ListObjectsResult, error) {
	return m.c.ListObjects(ctx, bucket, o, linearizable)
}
func (m clusterMeta) GetUpload(ctx context.Context, bucket, key string, id meta.ID) (*meta.Upload, error) {
	return m.c.GetUpload(ctx, bucket, key, id)
}
func (m clusterMeta) ListUploads(ctx context.Context, bucket string, o meta.ListUploadsOptions) (meta.ListUploadsResult, error) {
	return m.c.ListUploads(ctx, bucket, o, linearizable)
}
func (m clusterMeta) ListParts(ctx context.Context, bucket, key string, id meta.ID, o meta.ListPartsOptions) (meta.ListPartsResult, error) {
	return m.c.ListParts(ctx, bucket, key, id, o)
}
func (m clusterMeta) GetUser(ctx context.Context, accessKeyID string) (*meta.User, error) {
	return m.c.GetUser(ctx, accessKeyID)
}
func (m clusterMeta) KeyRing(ctx context.Context) (meta.KeyRing, error) { return m.c.KeyRing(ctx) }
func (m clusterMeta) GetCMK(ctx context.Context, id string) (*meta.CMK, error) {
	return m.c.GetCMK(ctx, id)
}
func (m clusterMeta) ListCMKs(ctx context.Context) ([]meta.CMK, error) { return m.c.ListCMKs(ctx) }
func (m clusterMeta) Layout(ctx context.Context) (meta.ClusterLayout, error) {
	return m.c.Layout(ctx, linearizable)
}
func (m clusterMeta) GarbageList(ctx context.Context, after uint64, limit int) ([]meta.GarbageItem, error) {
	return m.c.GarbageList(ctx, after, limit, linearizable)
}
func (m clusterMeta) Census(ctx context.Context) (map[uint32]uint64, error) {
	return m.c.Census(ctx)
}
func (m clusterMeta) VersionsByMasterKey(ctx context.Context, v uint32, after *meta.KeyRef, limit int) ([]meta.KeyRef, error) {
	return m.c.VersionsByMasterKey(ctx, v, after, limit)
}
func (m clusterMeta) Rewrap(ctx context.Context, items []meta.RewrapItem) (int, error) {
	return m.c.Rewrap(ctx, items)
}
func (m clusterMeta) ListUsers(ctx context.Context) ([]meta.User, error) { return m.c.ListUsers(ctx) }
func (m clusterMeta) AckGarbage(ctx context.Context, seqs []uint64) (int, error) {
	return m.c.AckGarbage(ctx, seqs)
}

// Bootstrap makes what a new cluster needs before a gateway can serve: the
// master-key ring (sealed by the root key) if there is none, and the root user with
// the given credentials (created, or its secret replaced when it changed). It is
// safe to run on every start and from several processes at once.
type Bootstrap struct {
	RootKey       sse.Key
	RootAccessKey string
	RootSecretKey string
	// RootUserID is the owner id of the root user. Default "root".
	RootUserID string
	Now        func() time.Time
	Rand       io.Reader
}

// Run applies the bootstrap to the cluster behind m.
func (b Bootstrap) Run(ctx context.Context, m Meta) error {
	if b.RootUserID == "" {
		b.RootUserID = "root"
	}
	kr, err := m.KeyRing(ctx)
	if err != nil {
		return fmt.Errorf("gateway: bootstrap: %w", err)
	}
	if kr.Epoch == 0 {
		material, err := sse.GenerateDEK(b.Rand)
		if err != nil {
			return err
		}
		ring, err := sse.NewRing(b.Rand, b.RootKey, material, b.Now())
		if err != nil {
			return fmt.Errorf("gateway: bootstrap: %w", err)
		}
		sealed, err := ring.MarshalBinary()
		if err != nil {
			return fmt.Errorf("gateway: bootstrap: %w", err)
		}
		_, err = m.Apply(ctx, &meta.SetKeyRing{ExpectEpoch: 0, Sealed: sealed, Active: ring.Active().Version})
		if err != nil && !errors.Is(err, meta.ErrConflict) {
			return fmt.Errorf("gateway: bootstrap key ring: %w", err)
		}
	} else if _, err := sse.ParseRing(kr.Sealed); err != nil {
		return fmt.Errorf("gateway: bootstrap: stored key ring: %w", err)
	}
	if b.RootAccessKey == "" || b.RootSecretKey == "" {
		return nil
	}
	u, err := m.GetUser(ctx, b.RootAccessKey)
	switch {
	case err == nil:
		if s, oerr := openUserSecret(b.RootKey, u.AccessKeyID, u.SealedSecret); oerr == nil && s == b.RootSecretKey && u.Admin {
			return nil
		}
	case !errors.Is(err, meta.ErrUserNotFound):
		return fmt.Errorf("gateway: bootstrap: %w", err)
	}
	sealed, err := sealUserSecret(b.Rand, b.RootKey, b.RootAccessKey, b.RootSecretKey)
	if err != nil {
		return err
	}
	user := meta.User{
		AccessKeyID: b.RootAccessKey, SealedSecret: sealed, ID: b.RootUserID,
		DisplayName: b.RootUserID, Admin: true, Created: b.Now().UnixNano(),
	}
	if _, err := m.Apply(ctx, &meta.PutUser{User: user}); err != nil {
		return fmt.Errorf("gateway: bootstrap root user: %w", err)
	}
	return nil
}
