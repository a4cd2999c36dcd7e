package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/cluster/clustertest"
	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/gateway"
	"github.com/coffer-io/coffer/gateway/gatewaytest"
	"github.com/coffer-io/coffer/node"
	"github.com/coffer-io/coffer/sse"
)

// testClock is the wall clock plus an offset a test moves forward.
type testClock struct{ off atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) Advance(d time.Duration) { c.off.Add(int64(d)) }
func startClocked(t *testing.T, tune func(*gateway.Config)) (*gatewaytest.Cluster, *testClock) {
	clk := &testClock{}
	c := gatewaytest.StartWith(t, gatewaytest.Options{Tune: func(cfg *gateway.Config) {
		cfg.Now = clk.Now
		if tune != nil {
			tune(cfg)
		}
	}})
	return c, clk
}

func adminOf(c *gatewaytest.Cluster) *gateway.AdminClient {
	return &gateway.AdminClient{Endpoint: c.URL, AccessKey: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey}
}

func versionOf(t *testing.T, c *gatewaytest.Cluster, bucket, key string) *meta.Version {
	t.Helper()
	v, err := c.Meta.GetObject(context.Background(), bucket, key)
	if err != nil {
		t.Fatalf("meta get %s/%s: %v", bucket, key, err)
	}
	return v
}

func wantBytes(t *testing.T, cl *cos.Client, key string, want []byte) {
	t.Helper()
	if got := getBytes(t, cl, key); !bytes.Equal(got, want) {
		t.Fatalf("%s: read %d bytes that differ from the %d written", key, len(got), len(want))
	}
}

func census(t *testing.T, c *gatewaytest.Cluster) map[uint32]uint64 {
	t.Helper()
	m, err := c.Meta.Census(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// shardStats stats every shard of the given simple-object versions on every node.
func shardStats(t *testing.T, c *gatewaytest.Cluster, vids []meta.ID) map[string]node.ShardInfo {
	t.Helper()
	out := map[string]node.ShardInfo{}
	for i := range len(c.StorageDirs()) {
		st := c.Store(i)
		for _, vid := range vids {
			for idx := range 6 {
				info, err := st.Stat(node.ShardID{Version: vid, Index: uint16(idx)})
				if errors.Is(err, node.ErrNotFound) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				out[fmt.Sprintf("%d/%s/%d", i, vid, idx)] = info
			}
		}
	}
	return out
}

// TestRotateAndRewrap: objects (simple, both master-key modes, multipart, an upload in
// progress) written under v1 → rotate → new objects under v2, old ones still read →
// re-wrap → v1's census is 0 and v1 retired, every record moved to v2 with nothing
// but its sealed key changed, shards untouched, everything reads back byte-exact.
func TestRotateAndRewrap(t *testing.T) {
	c, clk := startClocked(t, nil)
	ctx := context.Background()
	const bucket = "rotate-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	objects := map[string][]byte{}
	put := func(key string, data []byte, sseCOS bool) {
		t.Helper()
		opt := &cos.ObjectPutOptions{ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{ContentLength: int64(len(data))}}
		if sseCOS {
			opt.XCosServerSideEncryption = "AES256"
		}
		if _, err := cl.Object.Put(ctx, key, bytes.NewReader(data), opt); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		objects[key] = data
	}
	put("plain", randomBytes(1000), false)
	put("cos", randomBytes(300<<10), true)
	put("empty", nil, false)
	multi := randomBytes(2<<20 + 77)
	path := filepath.Join(t.TempDir(), "multi.bin")
	if err := os.WriteFile(path, multi, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cl.Object.Upload(ctx, "multi", path, &cos.MultiUploadOptions{PartSize: 1}); err != nil {
		t.Fatal(err)
	}
	objects["multi"] = multi
	// An upload still in progress across the rotation and the re-wrap.
	open, _, err := cl.Object.InitiateMultipartUpload(ctx, "open", nil)
	if err != nil {
		t.Fatal(err)
	}
	part1 := randomBytes(1 << 20)
	r1, err := cl.Object.UploadPart(ctx, "open", open.UploadID, 1, bytes.NewReader(part1), nil)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]*meta.Version{}
	var simple []meta.ID
	for key := range objects {
		v := versionOf(t, c, bucket, key)
		if v.SSE.MasterKeyVersion != 1 {
			t.Fatalf("%s sealed under master key %d before rotation", key, v.SSE.MasterKeyVersion)
		}
		before[key] = v
		if !v.IsMultipart() {
			simple = append(simple, v.VersionID)
		}
	}
	shardsBefore := shardStats(t, c, simple)
	if len(shardsBefore) == 0 {
		t.Fatal("found no shards to watch")
	}

	admin := adminOf(c)
	var st gateway.KeyStatus
	if err := admin.Do(ctx, "POST", "keys/rotate", nil, nil, &st); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if st.Active != 2 || len(st.Versions) != 2 || st.Versions[0].State != "decrypt-only" || st.Versions[0].Census != 5 {
		t.Fatalf("after rotation: %+v", st)
	}
	put("new", randomBytes(5000), false)
	if v := versionOf(t, c, bucket, "new"); v.SSE.MasterKeyVersion != 2 {
		t.Fatalf("object written after rotation sealed under %d", v.SSE.MasterKeyVersion)
	}
	for key, data := range objects {
		wantBytes(t, cl, key, data)
	}

	// Within the retire grace the job re-wraps but keeps v1.
	p, err := c.Gateway.Rewrap(ctx)
	if err != nil {
		t.Fatalf("rewrap: %v", err)
	}
	if p.Done != 5 || p.Skipped != 0 || p.Failed != 0 || len(p.Retired) != 0 {
		t.Fatalf("first pass: %+v", p)
	}
	if n := census(t, c)[1]; n != 0 {
		t.Fatalf("census of v1 after re-wrap: %d", n)
	}
	clk.Advance(time.Minute)
	if err := admin.Do(ctx, "POST", "keys/rewrap", nil, nil, &st); err != nil {
		t.Fatalf("rewrap via admin: %v", err)
	}
	if st.Versions[0].State != "retired" || st.Remaining != 0 || st.Versions[1].Census != 6 || !cmp.Equal(st.Rewrap.Retired, []uint32{1}) {
		t.Fatalf("after second pass: %+v", st)
	}

	for key, data := range objects {
		wantBytes(t, cl, key, data)
		old, now := before[key], versionOf(t, c, bucket, key)
		if old == nil { // written under v2
			if now.SSE.MasterKeyVersion != 2 {
				t.Fatalf("%s moved to master key %d", key, now.SSE.MasterKeyVersion)
			}
			continue
		}
		if now.SSE.MasterKeyVersion != 2 || bytes.Equal(now.SSE.SealedDEK, old.SSE.SealedDEK) {
			t.Fatalf("%s not re-wrapped: %+v", key, now.SSE)
		}
		if d := cmp.Diff(old, now, cmpopts.IgnoreFields(meta.SSE{}, "SealedDEK", "MasterKeyVersion")); d != "" {
			t.Fatalf("%s: re-wrap changed more than the sealed key (-old +new):\n%s", key, d)
		}
	}
	if d := cmp.Diff(shardsBefore, shardStats(t, c, simple)); d != "" {
		t.Fatalf("re-wrap touched shards:\n%s", d)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.Gateway.RotationCollector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "/" + l.GetValue()
			}
			got[name] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	wantMetrics := map[string]float64{
		"coffer_gateway_master_key_rotations_total":  1,
		"coffer_gateway_rewrap_keys_total/rewrapped": 5,
		"coffer_gateway_rewrap_keys_total/skipped":   0,
		"coffer_gateway_rewrap_keys_total/failed":    0,
		"coffer_gateway_rewrap_running":              0,
	}
	if d := cmp.Diff(wantMetrics, got); d != "" {
		t.Fatalf("metrics (-want +got):\n%s", d)
	}
	// The upload begun under v1 finishes under its re-wrapped key.
	part2 := randomBytes(4321)
	r2, err := cl.Object.UploadPart(ctx, "open", open.UploadID, 2, bytes.NewReader(part2), nil)
	if err != nil {
		t.Fatalf("upload part after re-wrap: %v", err)
	}
	_, _, err = cl.Object.CompleteMultipartUpload(ctx, "open", open.UploadID, &cos.CompleteMultipartUploadOptions{Parts: []cos.Object{
		{PartNumber: 1, ETag: r1.Header.Get("ETag")}, {PartNumber: 2, ETag: r2.Header.Get("ETag")},
	}})
	if err != nil {
		t.Fatalf("complete after re-wrap: %v", err)
	}
	wantBytes(t, cl, "open", append(part1, part2...))
}

// racingMeta overwrites an object through the API right after the re-wrap job has
// listed it, so its Rewrap item is stale.
type racingMeta struct {
	gateway.Meta
	once sync.Once
	race func()
}

func (m *racingMeta) VersionsByMasterKey(ctx context.Context, v uint32, after *meta.KeyRef, limit int) ([]meta.KeyRef, error) {
	refs, err := m.Meta.VersionsByMasterKey(ctx, v, after, limit)
	if err == nil && len(refs) > 0 {
		m.once.Do(m.race)
	}
	return refs, err
}

func TestRewrapSkipsOverwrite(t *testing.T) {
	c, clk := startClocked(t, nil)
	ctx := context.Background()
	const bucket = "rewrap-race-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	keep, fresh := randomBytes(100), randomBytes(200)
	for _, k := range []string{"keep", "race"} {
		if _, err := cl.Object.Put(ctx, k, bytes.NewReader(keep), nil); err != nil {
			t.Fatal(err)
		}
	}
	rm := &racingMeta{Meta: c.Meta, race: func() {
		if _, err := cl.Object.Put(ctx, "race", bytes.NewReader(fresh), nil); err != nil {
			t.Errorf("overwrite: %v", err)
		}
	}}
	gw, err := gateway.New(gateway.Config{
		Domain: gatewaytest.Domain, Region: gatewaytest.Region, RootKey: c.RootKey, Now: clk.Now,
		ShardClient: node.ClientConfig{TLS: c.MetaCluster().ClientTLS},
	}, rm)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	// A rotation made by another gateway is in use here within a ring TTL (1 s).
	if _, err := gw.RotateMasterKey(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := cl.Object.Put(ctx, "probe", bytes.NewReader(keep), nil); err != nil {
		t.Fatal(err)
	}
	if v := versionOf(t, c, bucket, "probe"); v.SSE.MasterKeyVersion != 2 {
		t.Fatalf("a ring TTL after another gateway's rotation, new objects still use %d", v.SSE.MasterKeyVersion)
	}
	clk.Advance(time.Minute)
	p, err := gw.Rewrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Done != 1 || p.Skipped != 1 || !cmp.Equal(p.Retired, []uint32{1}) {
		t.Fatalf("racing pass: %+v", p)
	}
	wantBytes(t, cl, "keep", keep)
	wantBytes(t, cl, "race", fresh)
}

func TestScheduledRotation(t *testing.T) {
	c, clk := startClocked(t, func(cfg *gateway.Config) {
		cfg.RotationPeriod = time.Hour
		cfg.KeyCheckInterval = 20 * time.Millisecond
	})
	ctx := context.Background()
	gw := c.Gateway
	if rotated, err := gw.RotateIfDue(ctx); err != nil || rotated {
		t.Fatalf("fresh ring rotated: %v %v", rotated, err)
	}
	// Two gateways due at once end with one rotation.
	other, err := gateway.New(gateway.Config{
		Domain: gatewaytest.Domain, Region: gatewaytest.Region, RootKey: c.RootKey, Now: clk.Now,
		RotationPeriod: time.Hour, ShardClient: node.ClientConfig{TLS: c.MetaCluster().ClientTLS},
	}, c.Meta)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	clk.Advance(2 * time.Hour)
	var wg sync.WaitGroup
	var rotations atomic.Int32
	for _, g := range []*gateway.Server{gw, other, gw, other} {
		wg.Go(func() {
			rotated, err := g.RotateIfDue(ctx)
			if err != nil {
				t.Errorf("rotate if due: %v", err)
			}
			if rotated {
				rotations.Add(1)
			}
		})
	}
	wg.Wait()
	st, err := gw.KeyStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rotations.Load() != 1 || st.Active != 2 {
		t.Fatalf("%d rotations, active %d", rotations.Load(), st.Active)
	}
	// Run rotates on its own once the period is over again.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- gw.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	clk.Advance(2 * time.Hour)
	waitKeys(t, gw, func(st gateway.KeyStatus) bool { return st.Active == 3 })
	// Nothing is sealed under versions 1 and 2, so past the grace the job retires them.
	clk.Advance(time.Minute)
	gw.RequestRewrap()
	waitKeys(t, gw, func(st gateway.KeyStatus) bool {
		return st.Versions[0].State == "retired" && st.Versions[1].State == "retired" && st.Versions[2].State == "active"
	})
}

func waitKeys(t *testing.T, gw *gateway.Server, ok func(gateway.KeyStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := gw.KeyStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("key status never reached the expected state: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestResealRoot: root-key rotation over the HTTPS admin API; a gateway with the new
// root key reads everything and authenticates the root user.
func TestResealRoot(t *testing.T) {
	c, _ := startClocked(t, nil)
	ctx := context.Background()
	const bucket = "reseal-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(70 << 10)
	if _, err := cl.Object.Put(ctx, "k", bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	kmsData := randomBytes(3000)
	kmsOpt := &cos.ObjectPutOptions{ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XCosServerSideEncryption: "cos/kms"}}
	if _, err := cl.Object.Put(ctx, "kms", bytes.NewReader(kmsData), kmsOpt); err != nil {
		t.Fatalf("put sse-kms: %v", err)
	}
	if _, err := c.Gateway.RotateMasterKey(ctx); err != nil {
		t.Fatal(err)
	}
	var newRoot sse.Key
	copy(newRoot[:], randomBytes(sse.KeyBytes))
	body := map[string]string{"RootKey": hex.EncodeToString(newRoot[:])}

	var ae *gateway.AdminError
	if err := adminOf(c).Do(ctx, "POST", "keys/reseal", nil, body, nil); !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("reseal over plain HTTP: %v", err)
	}
	srv := httptest.NewTLSServer(c.Gateway)
	defer srv.Close()
	tlsAdmin := &gateway.AdminClient{Endpoint: srv.URL, AccessKey: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey, HTTP: srv.Client()}
	if err := tlsAdmin.Do(ctx, "POST", "keys/reseal", nil, map[string]string{"RootKey": "abc"}, nil); !errors.As(err, &ae) || ae.Code != "InvalidArgument" {
		t.Fatalf("short root key: %v", err)
	}
	var res gateway.ResealResult
	if err := tlsAdmin.Do(ctx, "POST", "keys/reseal", nil, body, &res); err != nil {
		t.Fatalf("reseal: %v", err)
	}
	if res.RingVersions != 2 || res.Users != 1 || res.CMKs != 1 || res.Note == "" {
		t.Fatalf("reseal result: %+v", res)
	}

	gw, err := gateway.New(gateway.Config{
		Domain: gatewaytest.Domain, Region: gatewaytest.Region, RootKey: newRoot,
		Geometry: erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 64 << 10}, ShardClient: node.ClientConfig{TLS: c.MetaCluster().ClientTLS},
	}, c.Meta)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	srv2 := httptest.NewServer(gw)
	defer srv2.Close()
	u, _ := url.Parse(srv2.URL)
	cl2 := cos.NewClient(&cos.BaseURL{BucketURL: u, ServiceURL: u}, &http.Client{Transport: &cos.AuthorizationTransport{SecretID: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey}})
	cl2.Host = bucket + "." + gatewaytest.Domain + srv2.URL[len("http://127.0.0.1"):]
	wantBytes(t, cl2, "k", data)
	wantBytes(t, cl2, "kms", kmsData)
	data2 := randomBytes(1234)
	if _, err := cl2.Object.Put(ctx, "k2", bytes.NewReader(data2), nil); err != nil {
		t.Fatalf("put under the new root key: %v", err)
	}
	wantBytes(t, cl2, "k2", data2)
	// Running it again finds everything done.
	again, err := gw.ResealRoot(ctx, newRoot)
	if err != nil || again.RingVersions != 0 || again.Users != 0 || again.UsersDone != 1 || again.CMKs != 0 {
		t.Fatalf("second reseal: %+v %v", again, err)
	}
	// A gateway still on the old key opens nothing any more: it fails closed.
	if _, err := cl.Object.Get(ctx, "k", nil); err == nil {
		t.Fatal("gateway on the old root key still serves")
	}
}

// BenchmarkRewrap measures the re-wrap job on a 3-voter loopback metadata cluster:
// each iteration rotates the master key and moves every object's data key to the new
// version (metadata only; no storage nodes exist). Reports objects/s.
func BenchmarkRewrap(b *testing.B) {
	for _, objects := range []int{4096} {
		b.Run(fmt.Sprintf("voters=3/objects=%d", objects), func(b *testing.B) {
			benchRewrap(b, objects)
		})
	}
}

// metaCluster starts a metadata cluster of voters with a bootstrapped ring, a bucket
// and objects committed straight through Raft (no shards: the re-wrap job never
// reads them), and returns its client and root key.
func metaCluster(tb testing.TB, voters int, bucket string, objects int) (*clustertest.Cluster, gateway.Meta, sse.Key) {
	ctx := context.Background()
	mc := clustertest.StartWith(tb, voters, clustertest.Options{})
	m := gateway.ClusterMeta(mc.Client())
	var root sse.Key
	copy(root[:], randomBytes(sse.KeyBytes))
	if err := (gateway.Bootstrap{RootKey: root, Now: time.Now, Rand: rand.Reader}).Run(ctx, m); err != nil {
		tb.Fatal(err)
	}
	if _, err := m.Apply(ctx, &meta.CreateBucket{Bucket: meta.Bucket{Name: bucket, Owner: "root"}}); err != nil {
		tb.Fatal(err)
	}
	kr, err := m.KeyRing(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	ring, err := sse.ParseRing(kr.Sealed)
	if err != nil {
		tb.Fatal(err)
	}
	kek, err := ring.Unseal(root, kr.Active)
	if err != nil {
		tb.Fatal(err)
	}
	const writers = 16
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := w; i < objects; i += writers {
				var vid meta.ID
				copy(vid[:], randomBytes(len(vid)))
				key := fmt.Sprintf("obj/%06d", i)
				dek, err := sse.GenerateDEK(rand.Reader)
				if err != nil {
					errs <- err
					return
				}
				bind := sse.Binding{Bucket: bucket, Key: key, VersionID: vid.String(), Mode: sse.ModeNone, KeyVersion: kr.Active}
				sealed, err := sse.SealDEK(rand.Reader, kek, dek, bind)
				if err != nil {
					errs <- err
					return
				}
				v := meta.Version{
					Bucket: bucket, Key: key, VersionID: vid, Size: 1, Owner: "root",
					Layout: meta.Layout{K: 4, M: 2, BlockBytes: 64 << 10, Nodes: []string{"a", "b", "c", "d", "e", "f"}},
					SSE:    meta.SSE{Mode: meta.ModeNone, SealedDEK: sealed, MasterKeyVersion: kr.Active},
				}
				if _, err := m.Apply(ctx, &meta.CommitObject{Version: v}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return mc, m, root
}

// cutMeta calls cut once a Rewrap command has been applied.
type cutMeta struct {
	gateway.Meta
	cut func()
}

func (m *cutMeta) Rewrap(ctx context.Context, items []meta.RewrapItem) (int, error) {
	n, err := m.Meta.Rewrap(ctx, items)
	m.cut()
	return n, err
}

// TestRewrapResumes: a pass cut short (a gateway stopping) leaves the census part
// way; a new gateway's pass finishes from there. A pass across a leader kill on a
// 3-voter cluster retries and finishes.
func TestRewrapResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("3-voter cluster")
	}
	const objects = 600
	ctx := context.Background()
	mc, m, root := metaCluster(t, 3, "resume-1250000000", objects)
	clk := &testClock{}
	newGW := func(rate float64) *gateway.Server {
		gw, err := gateway.New(gateway.Config{RootKey: root, Now: clk.Now, RewrapRate: rate}, m)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(gw.Close)
		return gw
	}
	gw := newGW(1000)
	if _, err := gw.RotateMasterKey(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	// The gateway stops right after its first batch has been applied.
	cut, cancel := context.WithCancel(ctx)
	defer cancel()
	cutGW, err := gateway.New(gateway.Config{RootKey: root, Now: clk.Now, RewrapRate: 1000}, &cutMeta{Meta: m, cut: cancel})
	if err != nil {
		t.Fatal(err)
	}
	defer cutGW.Close()
	p, err := cutGW.Rewrap(cut)
	if !errors.Is(err, context.Canceled) || p.Done == 0 || p.Done == objects {
		t.Fatalf("cut pass: %+v %v", p, err)
	}
	left, err := m.Census(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if left[1] == 0 || left[1] == objects || left[1]+left[2] != objects {
		t.Fatalf("census after a cut pass: %v (done %d)", left, p.Done)
	}
	p, err = newGW(1000).Rewrap(ctx)
	if err != nil || p.Done != left[1] || !cmp.Equal(p.Retired, []uint32{1}) {
		t.Fatalf("resumed pass: %+v %v (census was %v)", p, err, left)
	}

	gw = newGW(500)
	if _, err := gw.RotateMasterKey(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	done := make(chan error, 1)
	go func() {
		var err error
		p, err = gw.Rewrap(ctx)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	// At 500 keys/s the pass needs 688 ms beyond its first batch: it is under way.
	if st, err := gw.KeyStatus(ctx); err != nil || !st.Rewrap.Running {
		t.Fatalf("pass not running at the kill: %+v %v", st.Rewrap, err)
	}
	mc.Kill(mc.WaitLeader())
	if err := <-done; err != nil {
		t.Fatalf("pass across a leader kill: %+v %v", p, err)
	}
	final, err := m.Census(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if final[2] != 0 || final[3] != objects {
		t.Fatalf("census after the pass across a leader kill: %v (%+v)", final, p)
	}
}

func benchRewrap(b *testing.B, objects int) {
	ctx := context.Background()
	_, m, root := metaCluster(b, 3, "bench-1250000000", objects)
	clk := &testClock{}
	gw, err := gateway.New(gateway.Config{RootKey: root, Now: clk.Now, RewrapRate: 1e9}, m)
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := gw.RotateMasterKey(ctx); err != nil {
			b.Fatal(err)
		}
		clk.Advance(time.Minute)
		p, err := gw.Rewrap(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if p.Done != uint64(objects) || len(p.Retired) != 1 {
			b.Fatalf("pass: %+v", p)
		}
	}
	b.ReportMetric(float64(objects*b.N)/time.Since(start).Seconds(), "objects/s")
}
