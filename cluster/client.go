package cluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coffer-io/coffer/cluster/internal/transport"
	"github.com/coffer-io/coffer/cluster/meta"
)

// backend carries encoded commands and named reads to the metadata group: a local
// *Node, or remote voters over the internal RPC. It is the seam behind which the
// planned multi-raft split stays inside this package.
type backend interface {
	// apply commits an encoded command and returns the state machine's result.
	apply(ctx context.Context, cmd []byte) (*meta.Result, error)
	// read runs a named read: local against a state machine when the backend has
	// one, otherwise remotely with args marshalled and the result unmarshalled into
	// out.
	read(ctx context.Context, name string, opts ReadOptions, local func(machine) error, args, out any) error
	// status describes the group as one voter sees it.
	status(ctx context.Context) (Status, error)
	// join adds a voter and remove removes a server, through the leader.
	join(ctx context.Context, p Peer) error
	remove(ctx context.Context, id string) error
	close() error
}

// Client is the typed metadata API for gateways and background jobs. Every write
// gets a fresh request id and keeps it across its retries. Methods return the meta
// sentinels (meta.ErrBucketNotFound, ...) for state-machine refusals, ErrUnavailable
// when no leader with a quorum answered before the deadline, and ErrClosed after
// Close. A Client is safe for concurrent use.
type Client struct {
	b   backend
	rnd io.Reader
	mu  sync.Mutex // guards reads of rnd
}

// Client returns an in-process client of this node. Closing it does not close the
// node.
func (n *Node) Client() *Client {
	return &Client{b: nodeBackend{n}, rnd: n.cfg.Rand}
}

// Apply commits cmd through the group. Commands refused by the state machine return
// the result together with its error (errors.Is matches the meta sentinel).
func (n *Node) Apply(ctx context.Context, cmd meta.Command) (*meta.Result, error) {
	return n.Client().Apply(ctx, cmd)
}

type nodeBackend struct{ n *Node }

func (b nodeBackend) apply(ctx context.Context, cmd []byte) (*meta.Result, error) {
	resp, err := b.n.applyBytes(ctx, cmd)
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*meta.Result)
	if !ok || r == nil {
		return nil, fmt.Errorf("cluster: state machine answered %T, want *meta.Result", resp)
	}
	return r, nil
}

func (b nodeBackend) read(ctx context.Context, name string, opts ReadOptions, local func(machine) error, args, out any) error {
	return b.n.read(ctx, name, opts, local, args, out)
}

func (b nodeBackend) status(context.Context) (Status, error)      { return b.n.Status() }
func (b nodeBackend) join(ctx context.Context, p Peer) error      { return b.n.Join(ctx, p) }
func (b nodeBackend) remove(ctx context.Context, id string) error { return b.n.Remove(ctx, id) }
func (b nodeBackend) close() error                                { return nil }

// ClientConfig configures a remote Client.
type ClientConfig struct {
	// Addrs are addresses of meta voters (their mutual-TLS ports). Required. The
	// client follows leader hints from there.
	Addrs []string
	// TLS is the mutual-TLS client configuration (cluster CA and a node or gateway
	// certificate). Required.
	TLS *tls.Config
	// RequestTimeout bounds requests whose context has no deadline; default
	// RequestTimeoutDefault.
	RequestTimeout time.Duration
	// DialTimeout bounds one connection attempt; default 2s.
	DialTimeout time.Duration
	// AttemptTimeout bounds one request attempt against one voter; default
	// AttemptTimeoutDefault.
	AttemptTimeout time.Duration
	// RetryBackoff and RetryBackoffMax shape retries; defaults as for Config.
	RetryBackoff    time.Duration
	RetryBackoffMax time.Duration
	// Rand is the randomness for request ids and jitter; default crypto/rand.
	Rand io.Reader
}

// EnsureDefaults fills zero fields with their defaults.
func (c *ClientConfig) EnsureDefaults() {
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = RequestTimeoutDefault
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 2 * time.Second
	}
	if c.AttemptTimeout <= 0 {
		c.AttemptTimeout = AttemptTimeoutDefault
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = RetryBackoffDefault
	}
	if c.RetryBackoffMax <= 0 {
		c.RetryBackoffMax = RetryBackoffMaxDefault
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
}

// Validate reports every problem with the configuration.
func (c *ClientConfig) Validate() error {
	var errs []error
	if len(c.Addrs) == 0 {
		errs = append(errs, errors.New("cluster: client needs at least one address"))
	}
	for i, a := range c.Addrs {
		if a == "" {
			errs = append(errs, fmt.Errorf("cluster: client address %d is empty", i))
		}
	}
	if c.TLS == nil {
		errs = append(errs, errors.New("cluster: client TLS configuration is required"))
	}
	if c.RetryBackoffMax < c.RetryBackoff {
		errs = append(errs, errors.New("cluster: RetryBackoffMax must be at least RetryBackoff"))
	}
	return errors.Join(errs...)
}

// NewClient returns a client of remote meta voters.
func NewClient(cfg ClientConfig) (*Client, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &remote{
		cfg:  cfg,
		hc:   &http.Client{Transport: transport.HTTPTransport(cfg.TLS, cfg.DialTimeout)},
		stop: make(chan struct{}),
	}
	return &Client{b: r, rnd: cfg.Rand}, nil
}

// Close releases the client's connections; later calls fail with ErrClosed.
func (c *Client) Close() error { return c.b.close() }

// remote talks to meta voters over the internal RPC, remembering the last leader.
type remote struct {
	cfg  ClientConfig
	hc   *http.Client
	stop chan struct{}
	once sync.Once

	mu     sync.Mutex // guards the fields below
	leader string     // last known leader address, "" when unknown
	next   int        // rotation position in cfg.Addrs
	closed bool
}

func (r *remote) pick(anyNode bool) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.leader != "" && !anyNode {
		return r.leader
	}
	a := r.cfg.Addrs[r.next%len(r.cfg.Addrs)]
	return a
}

func (r *remote) observe(addr, hint string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case ok:
		r.leader = addr
	case hint != "":
		r.leader = hint
	default:
		if r.leader == addr || r.leader == "" {
			r.leader = ""
			r.next++
		}
	}
}

func (r *remote) do(ctx context.Context, path string, body []byte, stale bool) ([]byte, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.cfg.RequestTimeout)
		defer cancel()
	}
	var last error
	for attempt := 0; ; attempt++ {
		addr := r.pick(stale)
		var b []byte
		err := tryOnce(ctx, r.cfg.AttemptTimeout, func(ctx context.Context) error {
			var err error
			b, err = rpcCall(ctx, r.hc, addr, path, body, stale, metaErrorFrom)
			return err
		})
		if err == nil {
			if !stale {
				r.observe(addr, "", true)
			}
			return b, nil
		}
		var re *rpcError
		hinted := false
		switch {
		case errors.As(err, &re):
			if !re.Retry {
				return nil, err
			}
			hinted = re.Leader != "" && re.Leader != addr
			r.observe(addr, re.Leader, false)
		case errors.Is(err, errUnreachable):
			r.observe(addr, "", false)
		case ctx.Err() != nil:
			return nil, unavailable(ctx, last)
		default:
			return nil, err
		}
		last = err
		if hinted {
			continue // a fresh leader hint is worth an immediate try
		}
		if !sleepBackoff(ctx, r.stop, r.cfg.RetryBackoff, r.cfg.RetryBackoffMax, attempt, r.cfg.Rand) {
			select {
			case <-r.stop:
				return nil, ErrClosed
			default:
			}
			return nil, unavailable(ctx, last)
		}
	}
}

func (r *remote) apply(ctx context.Context, cmd []byte) (*meta.Result, error) {
	b, err := r.do(ctx, "apply", cmd, false)
	if err != nil {
		return nil, err
	}
	return meta.DecodeResult(b)
}

func (r *remote) read(ctx context.Context, name string, opts ReadOptions, _ func(machine) error, args, out any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("cluster: encode %s arguments: %w", name, err)
	}
	b, err := r.do(ctx, "read/"+name, body, opts.Stale)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("cluster: decode %s result: %w", name, err)
	}
	return nil
}

func (r *remote) status(ctx context.Context) (Status, error) {
	var st Status
	b, err := r.do(ctx, "status", nil, true)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("cluster: decode status: %w", err)
	}
	return st, nil
}

func (r *remote) join(ctx context.Context, p Peer) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = r.do(ctx, "join", b, false)
	return err
}

func (r *remote) remove(ctx context.Context, id string) error {
	b, err := json.Marshal(map[string]string{"id": id})
	if err != nil {
		return err
	}
	_, err = r.do(ctx, "remove", b, false)
	return err
}

func (r *remote) close() error {
	r.once.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		close(r.stop)
		r.hc.CloseIdleConnections()
	})
	return nil
}

// newID draws a request id.
func (c *Client) newID() (meta.ID, error) {
	var id meta.ID
	c.mu.Lock()
	_, err := io.ReadFull(c.rnd, id[:])
	c.mu.Unlock()
	if err != nil {
		return id, fmt.Errorf("cluster: request id: %w", err)
	}
	return id, nil
}

// Apply commits cmd with a fresh request id. See ApplyID.
func (c *Client) Apply(ctx context.Context, cmd meta.Command) (*meta.Result, error) {
	id, err := c.newID()
	if err != nil {
		return nil, err
	}
	return c.ApplyID(ctx, id, cmd)
}

// ApplyID commits cmd under request id id: a caller that retries a command across
// its own restarts passes the same id again. Invalid commands fail before anything
// is sent, with an error wrapping meta.ErrInvalidArgument. A command the state
// machine refuses returns its result together with the result's error.
func (c *Client) ApplyID(ctx context.Context, id meta.ID, cmd meta.Command) (*meta.Result, error) {
	if cmd == nil {
		return nil, fmt.Errorf("%w: nil command", meta.ErrInvalidArgument)
	}
	if err := cmd.Validate(); err != nil {
		return nil, err
	}
	b, err := meta.EncodeCommand(id, cmd)
	if err != nil {
		return nil, err
	}
	res, err := c.b.apply(ctx, b)
	if err != nil {
		return nil, err
	}
	return res, res.Err()
}

func clientRead[A, R any](ctx context.Context, c *Client, op readOp[A, R], a A, opts ReadOptions) (R, error) {
	var out R
	err := c.b.read(ctx, op.name, opts, func(sm machine) error {
		r, err := op.run(sm, a)
		if err == nil {
			out = r
		}
		return err
	}, a, &out)
	return out, err
}

// Status describes the metadata group as one voter sees it (voters, leader, term,
// indexes); for a remote client, the first reachable voter.
func (c *Client) Status(ctx context.Context) (Status, error) { return c.b.status(ctx) }

// AddVoter adds a meta voter to the group through the leader (idempotent for a voter
// already present at the same address).
func (c *Client) AddVoter(ctx context.Context, p Peer) error {
	if err := validID(p.ID); err != nil || p.Addr == "" {
		return fmt.Errorf("%w: a voter needs a valid id and address", ErrBadRequest)
	}
	return c.b.join(ctx, p)
}

// RemoveServer removes a server from the group through the leader.
func (c *Client) RemoveServer(ctx context.Context, id string) error {
	if err := validID(id); err != nil {
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return c.b.remove(ctx, id)
}

// CreateBucket creates b. Fails with meta.ErrBucketExists.
func (c *Client) CreateBucket(ctx context.Context, b meta.Bucket) error {
	_, err := c.Apply(ctx, &meta.CreateBucket{Bucket: b})
	return err
}

// DeleteBucket deletes an empty bucket. Fails with meta.ErrBucketNotFound or
// meta.ErrBucketNotEmpty.
func (c *Client) DeleteBucket(ctx context.Context, name string) error {
	_, err := c.Apply(ctx, &meta.DeleteBucket{Name: name})
	return err
}

// UpdateBucket changes the ACL, default encryption or SSE-C policy of a bucket, as
// u.Fields selects.
func (c *Client) UpdateBucket(ctx context.Context, u meta.UpdateBucket) error {
	_, err := c.Apply(ctx, &u)
	return err
}

// GetBucket returns a bucket. Fails with meta.ErrBucketNotFound.
func (c *Client) GetBucket(ctx context.Context, name string) (*meta.Bucket, error) {
	return clientRead(ctx, c, readBucket, nameArgs{name}, ReadOptions{})
}

// ListBuckets returns the buckets of owner (all buckets when owner is empty).
func (c *Client) ListBuckets(ctx context.Context, owner string, opts ReadOptions) ([]meta.Bucket, error) {
	return clientRead(ctx, c, readBuckets, nameArgs{owner}, opts)
}

// CommitObject makes a new version current (with its preconditions). The result
// names the replaced version. Fails with meta.ErrBucketNotFound or
// meta.ErrPreconditionFailed.
func (c *Client) CommitObject(ctx context.Context, cmd meta.CommitObject) (*meta.Result, error) {
	return c.Apply(ctx, &cmd)
}

// DeleteObject removes the current version of a key. Fails with
// meta.ErrObjectNotFound, meta.ErrBucketNotFound or meta.ErrPreconditionFailed.
func (c *Client) DeleteObject(ctx context.Context, cmd meta.DeleteObject) (*meta.Result, error) {
	return c.Apply(ctx, &cmd)
}

// PutObjectACL replaces the ACL of the current version of a key.
func (c *Client) PutObjectACL(ctx context.Context, cmd meta.PutObjectACL) error {
	_, err := c.Apply(ctx, &cmd)
	return err
}

// GetObject returns the current version record of a key (linearizable). Fails with
// meta.ErrObjectNotFound or meta.ErrBucketNotFound.
func (c *Client) GetObject(ctx context.Context, bucket, key string) (*meta.Version, error) {
	return clientRead(ctx, c, readObject, objectArgs{bucket, key}, ReadOptions{})
}

// ListObjects returns one page of a bucket listing.
func (c *Client) ListObjects(ctx context.Context, bucket string, o meta.ListObjectsOptions, opts ReadOptions) (meta.ListObjectsResult, error) {
	return clientRead(ctx, c, readObjects, listObjectsArgs{bucket, o}, opts)
}

// InitiateUpload records a new multipart upload.
func (c *Client) InitiateUpload(ctx context.Context, u meta.Upload) error {
	_, err := c.Apply(ctx, &meta.InitiateUpload{Upload: u})
	return err
}

// PutPart records an uploaded part, replacing one with the same number.
func (c *Client) PutPart(ctx context.Context, cmd meta.PutPart) error {
	_, err := c.Apply(ctx, &cmd)
	return err
}

// CompleteUpload commits the chosen parts as the key's new version; the result holds
// the committed record.
func (c *Client) CompleteUpload(ctx context.Context, cmd meta.CompleteUpload) (*meta.Result, error) {
	return c.Apply(ctx, &cmd)
}

// AbortUpload removes an upload and queues its parts for deletion.
func (c *Client) AbortUpload(ctx context.Context, bucket, key string, uploadID meta.ID) error {
	_, err := c.Apply(ctx, &meta.AbortUpload{Bucket: bucket, Key: key, UploadID: uploadID})
	return err
}

// GetUpload returns an upload. Fails with meta.ErrUploadNotFound.
func (c *Client) GetUpload(ctx context.Context, bucket, key string, uploadID meta.ID) (*meta.Upload, error) {
	return clientRead(ctx, c, readUpload, uploadArgs{bucket, key, uploadID}, ReadOptions{})
}

// ListUploads returns one page of a bucket's multipart uploads.
func (c *Client) ListUploads(ctx context.Context, bucket string, o meta.ListUploadsOptions, opts ReadOptions) (meta.ListUploadsResult, error) {
	return clientRead(ctx, c, readUploads, listUploadsArgs{bucket, o}, opts)
}

// ListParts returns one page of an upload's parts.
func (c *Client) ListParts(ctx context.Context, bucket, key string, uploadID meta.ID, o meta.ListPartsOptions) (meta.ListPartsResult, error) {
	return clientRead(ctx, c, readParts, listPartsArgs{bucket, key, uploadID, o}, ReadOptions{})
}

// PutUser creates or replaces a user; with ifAbsent it fails with
// meta.ErrUserExists when the access key id is taken.
func (c *Client) PutUser(ctx context.Context, u meta.User, ifAbsent bool) error {
	_, err := c.Apply(ctx, &meta.PutUser{User: u, IfAbsent: ifAbsent})
	return err
}

// GetUser returns a user by access key id. Fails with meta.ErrUserNotFound.
func (c *Client) GetUser(ctx context.Context, accessKeyID string) (*meta.User, error) {
	return clientRead(ctx, c, readUser, nameArgs{accessKeyID}, ReadOptions{})
}

// ListUsers returns all users.
func (c *Client) ListUsers(ctx context.Context) ([]meta.User, error) {
	return clientRead(ctx, c, readUsers, noArgs{}, ReadOptions{})
}

// DeleteUser removes a user. Fails with meta.ErrUserNotFound.
func (c *Client) DeleteUser(ctx context.Context, accessKeyID string) error {
	_, err := c.Apply(ctx, &meta.DeleteUser{AccessKeyID: accessKeyID})
	return err
}

// KeyRing returns the sealed master-key ring.
func (c *Client) KeyRing(ctx context.Context) (meta.KeyRing, error) {
	return clientRead(ctx, c, readKeyRing, noArgs{}, ReadOptions{})
}

// SetKeyRing replaces the ring if its epoch still is cmd.ExpectEpoch and returns the
// new epoch. Fails with meta.ErrConflict or meta.ErrKeyInUse.
func (c *Client) SetKeyRing(ctx context.Context, cmd meta.SetKeyRing) (uint64, error) {
	res, err := c.Apply(ctx, &cmd)
	if err != nil {
		return 0, err
	}
	return res.Epoch, nil
}

// Census returns, per master-key version, how many DEKs are sealed under it.
func (c *Client) Census(ctx context.Context) (map[uint32]uint64, error) {
	return clientRead(ctx, c, readCensus, noArgs{}, ReadOptions{})
}

// VersionsByMasterKey returns up to limit DEKs sealed under master-key version v,
// after the reference after (nil: from the start), for the re-wrap job.
func (c *Client) VersionsByMasterKey(ctx context.Context, v uint32, after *meta.KeyRef, limit int) ([]meta.KeyRef, error) {
	return clientRead(ctx, c, readByMasterKey, byMasterKeyArgs{v, after, limit}, ReadOptions{})
}

// Rewrap re-seals DEKs whose sealed form is unchanged and returns how many it did.
func (c *Client) Rewrap(ctx context.Context, items []meta.RewrapItem) (int, error) {
	res, err := c.Apply(ctx, &meta.Rewrap{Items: items})
	if err != nil {
		return 0, err
	}
	return res.Count, nil
}

// PutCMK creates (expectRevision 0) or updates a KMS key and returns its new
// revision. Fails with meta.ErrConflict.
func (c *Client) PutCMK(ctx context.Context, k meta.CMK, expectRevision uint64) (uint64, error) {
	res, err := c.Apply(ctx, &meta.PutCMK{CMK: k, ExpectRevision: expectRevision})
	if err != nil {
		return 0, err
	}
	return res.Epoch, nil
}

// DeleteCMK removes a KMS key at revision expectRevision.
func (c *Client) DeleteCMK(ctx context.Context, id string, expectRevision uint64) error {
	_, err := c.Apply(ctx, &meta.DeleteCMK{ID: id, ExpectRevision: expectRevision})
	return err
}

// GetCMK returns a KMS key. Fails with meta.ErrCMKNotFound.
func (c *Client) GetCMK(ctx context.Context, id string) (*meta.CMK, error) {
	return clientRead(ctx, c, readCMK, nameArgs{id}, ReadOptions{})
}

// ListCMKs returns all KMS keys.
func (c *Client) ListCMKs(ctx context.Context) ([]meta.CMK, error) {
	return clientRead(ctx, c, readCMKs, noArgs{}, ReadOptions{})
}

// Layout returns the cluster layout (storage nodes and erasure defaults).
func (c *Client) Layout(ctx context.Context, opts ReadOptions) (meta.ClusterLayout, error) {
	return clientRead(ctx, c, readLayout, noArgs{}, opts)
}

// SetLayout replaces the layout if its epoch still is expectEpoch and returns the
// new epoch. Fails with meta.ErrConflict.
func (c *Client) SetLayout(ctx context.Context, l meta.ClusterLayout, expectEpoch uint64) (uint64, error) {
	res, err := c.Apply(ctx, &meta.SetLayout{Layout: l, ExpectEpoch: expectEpoch})
	if err != nil {
		return 0, err
	}
	return res.Epoch, nil
}

// UpdateLayout records healed shard locations of one version and returns the new
// layout epoch. Fails with meta.ErrConflict when the epoch moved.
func (c *Client) UpdateLayout(ctx context.Context, cmd meta.UpdateLayout) (uint64, error) {
	res, err := c.Apply(ctx, &cmd)
	if err != nil {
		return 0, err
	}
	return res.Epoch, nil
}

// GarbageList returns up to limit garbage items with a sequence number above after.
func (c *Client) GarbageList(ctx context.Context, after uint64, limit int, opts ReadOptions) ([]meta.GarbageItem, error) {
	return clientRead(ctx, c, readGarbage, garbageArgs{after, limit}, opts)
}

// AckGarbage removes garbage items whose shards were deleted and returns how many
// were removed.
func (c *Client) AckGarbage(ctx context.Context, seqs []uint64) (int, error) {
	res, err := c.Apply(ctx, &meta.RemoveGarbage{Seqs: seqs})
	if err != nil {
		return 0, err
	}
	return res.Count, nil
}

// Stats returns object, byte, bucket, upload and garbage counts.
func (c *Client) Stats(ctx context.Context, opts ReadOptions) (meta.Stats, error) {
	return clientRead(ctx, c, readStats, noArgs{}, opts)
}

// ShardsOwner reports whether the shard set written under id (a simple version's id,
// or a part's ShardsID) is live — referenced by a current object version or by a part
// of an open upload — and by what (linearizable). Shards of replaced or deleted
// versions and of aborted uploads are not live: they wait in the garbage queue, and
// removing them early is harmless. A PUT writes its shards before it commits, so a
// set not yet live may still be in flight: storage nodes' sweepers remove unknown
// shards only after a grace period.
func (c *Client) ShardsOwner(ctx context.Context, id meta.ID) (meta.ShardsRef, bool, error) {
	r, err := clientRead(ctx, c, readShardsOwner, shardsArgs{id}, ReadOptions{})
	return r.Ref, r.Live, err
}
