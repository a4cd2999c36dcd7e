//go:build e2e

package system

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	cos "github.com/tencentyun/cos-go-sdk-v5"
)

// TestCluster runs the system steps in order against one compose cluster; a failed
// step stops the run, since later steps assume the cluster is whole again.
func TestCluster(t *testing.T) {
	e := newEnv(t)
	c := &corpus{bucket: fmt.Sprintf("sys%d-%s", time.Now().Unix()%1e6, appID), data: map[string][]byte{}}
	steps := []struct {
		name string
		fn   func(*testing.T, *env, *corpus)
	}{
		{"Conformance", testConformance},
		{"OneStorageDown", testOneStorageDown},
		{"TwoStorageDown", testTwoStorageDown},
		{"StorageBack", testStorageBack},
		{"MetaLeaderKill", testMetaLeaderKill},
		{"RestartAll", testRestartAll},
		{"NetworkCut", testNetworkCut},
	}
	for _, s := range steps {
		start := time.Now()
		ok := t.Run(s.name, func(t *testing.T) { s.fn(t, e, c) })
		t.Logf("step %s: %v", s.name, time.Since(start).Round(time.Millisecond))
		if !ok {
			t.Fatalf("step %s failed; later steps skipped", s.name)
		}
	}
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testConformance: bucket, put/get/head/list/delete, range and multipart, always
// written through one gateway and read through the other, with both SDKs.
func testConformance(t *testing.T, e *env, c *corpus) {
	gw1, gw2 := gateways[0], gateways[1]
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Minute)
	defer cancel()
	s3gw1, s3gw2 := e.s3(t, gw1), e.s3(t, gw2)

	// Bucket: created through gw1 (COS), seen through gw2 (S3).
	if _, err := e.cos(gw1, c.bucket).Bucket.Put(ctx, nil); err != nil {
		t.Fatalf("create bucket %s via gw1: %v", c.bucket, err)
	}
	if _, err := s3gw2.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(c.bucket)}); err != nil {
		t.Fatalf("head bucket via gw2: %v", err)
	}
	lb, err := s3gw2.ListBuckets(ctx, &s3.ListBucketsInput{})
	must(t, err)
	found := false
	for _, b := range lb.Buckets {
		found = found || aws.ToString(b.Name) == c.bucket
	}
	if !found {
		t.Errorf("ListBuckets via gw2 lacks %s", c.bucket)
	}

	// Put through gw1 (COS), read, head and list through gw2.
	sizes := []int{0, 1, 4 << 10, 256<<10 + 1, 1<<20 + 17, 3 << 20}
	for i, n := range sizes {
		must(t, e.put(gw1, c, fmt.Sprintf("conf/obj-%02d", i), random(n)))
	}
	for i, n := range sizes {
		key := fmt.Sprintf("conf/obj-%02d", i)
		got, err := e.getS3(t, gw2, c.bucket, key)
		must(t, err)
		if !bytes.Equal(got, c.snapshot()[key]) {
			t.Errorf("%s via gw2: %d bytes differ from the %d written via gw1", key, len(got), n)
		}
		h, err := e.cos(gw2, c.bucket).Object.Head(ctx, key, nil)
		if err != nil {
			t.Errorf("head %s via gw2: %v", key, err)
		} else if h.ContentLength != int64(n) {
			t.Errorf("head %s via gw2: Content-Length %d, want %d", key, h.ContentLength, n)
		}
	}
	lo, err := s3gw2.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(c.bucket), Prefix: aws.String("conf/")})
	must(t, err)
	var keys []string
	for _, o := range lo.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if len(keys) != len(sizes) || !sort.StringsAreSorted(keys) {
		t.Errorf("ListObjectsV2 via gw2: %v, want the %d conf/ keys in order", keys, len(sizes))
	}
	cl, _, err := e.cos(gw1, c.bucket).Bucket.Get(ctx, &cos.BucketGetOptions{Prefix: "conf/", Delimiter: "/", MaxKeys: 2})
	must(t, err)
	if len(cl.Contents) != 2 || !cl.IsTruncated {
		t.Errorf("COS list via gw1 max-keys 2: %d keys, truncated %v", len(cl.Contents), cl.IsTruncated)
	}

	// Range reads through both SDKs, crossing a 256 KiB erasure block.
	big := c.snapshot()["conf/obj-04"]
	for _, r := range [][2]int{{0, 0}, {100, 1099}, {256<<10 - 10, 256<<10 + 10}, {len(big) - 5, len(big) - 1}} {
		want := big[r[0] : r[1]+1]
		rng := fmt.Sprintf("bytes=%d-%d", r[0], r[1])
		resp, err := e.cos(gw2, c.bucket).Object.Get(ctx, "conf/obj-04", &cos.ObjectGetOptions{Range: rng})
		if err != nil {
			t.Errorf("COS range %s via gw2: %v", rng, err)
		} else {
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, want) {
				t.Errorf("COS range %s via gw2: status %d, %d bytes", rng, resp.StatusCode, len(got))
			}
		}
		out, err := s3gw1.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.bucket), Key: aws.String("conf/obj-04"), Range: aws.String(rng)})
		if err != nil {
			t.Errorf("S3 range %s via gw1: %v", rng, err)
		} else {
			got, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if !bytes.Equal(got, want) {
				t.Errorf("S3 range %s via gw1: %d bytes differ", rng, len(got))
			}
		}
	}

	// Multipart through gw2 (S3), read through gw1 (COS).
	const mpKey = "conf/multipart"
	parts := [][]byte{random(5 << 20), random(5 << 20), random(1<<20 + 3)}
	up, err := s3gw2.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(c.bucket), Key: aws.String(mpKey)})
	must(t, err)
	var done []types.CompletedPart
	for i, p := range parts {
		pr, err := s3gw2.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(c.bucket), Key: aws.String(mpKey), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p),
		})
		must(t, err)
		done = append(done, types.CompletedPart{ETag: pr.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	_, err = s3gw2.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(c.bucket), Key: aws.String(mpKey), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	})
	must(t, err)
	whole := bytes.Join(parts, nil)
	c.add(mpKey, whole)
	got, err := e.getCOS(gw1, c.bucket, mpKey)
	must(t, err)
	if !bytes.Equal(got, whole) {
		t.Errorf("multipart via gw1: %d bytes differ from the %d uploaded via gw2", len(got), len(whole))
	}

	testSSE(ctx, t, e, c)

	// Delete through gw2, gone through gw1.
	must(t, e.put(gw1, c, "conf/doomed", random(1000)))
	if _, err := s3gw2.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.bucket), Key: aws.String("conf/doomed")}); err != nil {
		t.Fatalf("delete via gw2: %v", err)
	}
	c.remove("conf/doomed")
	if _, err := e.cos(gw1, c.bucket).Object.Head(ctx, "conf/doomed", nil); !cos.IsNotFoundError(err) {
		t.Errorf("head of a deleted object via gw1: %v, want 404", err)
	}
}

// testSSE writes with SSE-COS and SSE-C through one gateway and reads through the
// other. (SSE-KMS joins once the gateway's KMS has landed.)
func testSSE(ctx context.Context, t *testing.T, e *env, c *corpus) {
	gw1, gw2 := gateways[0], gateways[1]

	// SSE-COS: the object reads back without any header and says how it is stored.
	data := random(700<<10 + 9)
	_, err := e.cos(gw1, c.bucket).Object.Put(ctx, "conf/sse-cos", bytes.NewReader(data), &cos.ObjectPutOptions{
		ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XCosServerSideEncryption: "AES256"},
	})
	must(t, err)
	c.add("conf/sse-cos", data)
	h, err := e.cos(gw2, c.bucket).Object.Head(ctx, "conf/sse-cos", nil)
	must(t, err)
	if got := h.Header.Get("x-cos-server-side-encryption"); got != "AES256" {
		t.Errorf("SSE-COS object via gw2: x-cos-server-side-encryption %q, want AES256", got)
	}
	got, err := e.getS3(t, gw2, c.bucket, "conf/sse-cos")
	must(t, err)
	if !bytes.Equal(got, data) {
		t.Errorf("SSE-COS object via gw2: %d bytes differ from the %d written via gw1", len(got), len(data))
	}

	// SSE-C (HTTPS only): readable with the customer key only, through either gateway.
	key := random(32)
	sum := md5.Sum(key)
	k64, m64 := base64.StdEncoding.EncodeToString(key), base64.StdEncoding.EncodeToString(sum[:])
	data = random(300<<10 + 5)
	_, err = e.cosTLS(gw2, c.bucket).Object.Put(ctx, "conf/sse-c", bytes.NewReader(data), &cos.ObjectPutOptions{
		ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: k64, XCosSSECustomerKeyMD5: m64},
	})
	must(t, err)
	resp, err := e.cosTLS(gw1, c.bucket).Object.Get(ctx, "conf/sse-c", &cos.ObjectGetOptions{XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: k64, XCosSSECustomerKeyMD5: m64})
	must(t, err)
	got, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	must(t, err)
	if !bytes.Equal(got, data) {
		t.Errorf("SSE-C object via gw1: %d bytes differ from the %d written via gw2", len(got), len(data))
	}
	if _, err := e.cosTLS(gw1, c.bucket).Object.Get(ctx, "conf/sse-c", nil); err == nil {
		t.Error("SSE-C object read via gw1 without its key")
	}
}

// stop stops a compose service and starts it again when the test ends.
func (e *env) stop(t *testing.T, svc string) {
	t.Helper()
	e.composeRun(t, "stop", "-t", "10", svc)
	t.Cleanup(func() { e.composeRun(t, "start", svc) })
}

// testOneStorageDown: with one storage container stopped, writes through both
// gateways succeed and record the shard they could not place as missing.
func testOneStorageDown(t *testing.T, e *env, c *corpus) {
	before := e.missingShardLines(t)
	e.stop(t, "storage1")
	start := time.Now()
	const n = 6
	for i := range n {
		must(t, e.put(gateways[i%2], c, fmt.Sprintf("down1/obj-%02d", i), random(300<<10+i)))
	}
	t.Logf("%d writes with storage1 stopped in %v", n, time.Since(start).Round(time.Millisecond))
	after := e.missingShardLines(t)
	if after-before < n {
		t.Errorf("gateways logged %d writes with missing shards, want at least %d", after-before, n)
	}
	e.checkAll(t, c)
}

// testTwoStorageDown: with m=2 storage containers stopped, every acknowledged object
// still reads back byte-exact through both gateways.
func testTwoStorageDown(t *testing.T, e *env, c *corpus) {
	e.stop(t, "storage1")
	e.stop(t, "storage2")
	e.checkAll(t, c)
}

// testStorageBack: with every storage container started again, writes place all
// their shards again (no new missing-shard record) within recoverTimeout, and
// everything reads back.
func testStorageBack(t *testing.T, e *env, c *corpus) {
	e.composeRun(t, "start", "storage1", "storage2")
	start := time.Now()
	for i := 0; ; i++ {
		before := e.missingShardLines(t)
		must(t, e.put(gateways[i%2], c, fmt.Sprintf("back/obj-%02d", i), random(200<<10)))
		if e.missingShardLines(t) == before {
			break
		}
		if time.Since(start) > recoverTimeout {
			t.Fatalf("writes still record missing shards %v after starting the storage nodes", recoverTimeout)
		}
		time.Sleep(time.Second)
	}
	t.Logf("writes place every shard again %v after starting storage1 and storage2", time.Since(start).Round(time.Millisecond))
	// Both gateways, not just the one that recovered first.
	before := e.missingShardLines(t)
	for i, g := range gateways {
		must(t, e.put(g, c, fmt.Sprintf("back/both-%d", i), random(100<<10)))
	}
	if got := e.missingShardLines(t) - before; got != 0 {
		t.Errorf("%d writes still record missing shards after recovery", got)
	}
	e.checkAll(t, c)
}

// writeLoop writes small objects through alternating gateways until stop closes and
// reports the longest stretch without an acknowledged write.
type writeLoop struct {
	e    *env
	c    *corpus
	name string
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	acked   int
	failed  int
	lastOK  time.Time
	gapMax  time.Duration
	lastErr error
}

func startWriteLoop(e *env, c *corpus, name string) *writeLoop {
	w := &writeLoop{e: e, c: c, name: name, stop: make(chan struct{}), done: make(chan struct{}), lastOK: time.Now()}
	go w.run()
	return w
}

func (w *writeLoop) run() {
	defer close(w.done)
	for i := 0; ; i++ {
		select {
		case <-w.stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(w.e.ctx, 2*time.Second)
		key := fmt.Sprintf("%s/w-%04d", w.name, i)
		b := random(4<<10 + i)
		_, err := w.e.cos(gateways[i%2], w.c.bucket).Object.Put(ctx, key, bytes.NewReader(b), nil)
		cancel()
		now := time.Now()
		w.mu.Lock()
		if err == nil {
			w.c.add(key, b)
			w.acked++
			if gap := now.Sub(w.lastOK); gap > w.gapMax {
				w.gapMax = gap
			}
			w.lastOK = now
		} else {
			w.failed++
			w.lastErr = err
		}
		w.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
}

// finish stops the loop and returns the longest gap between acknowledged writes,
// counting a trailing gap up to now.
func (w *writeLoop) finish() (gap time.Duration, acked, failed int, lastErr error) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	gap = w.gapMax
	if tail := time.Since(w.lastOK); tail > gap {
		gap = tail
	}
	return gap, w.acked, w.failed, w.lastErr
}

// testMetaLeaderKill kills each meta voter in turn (SIGKILL) under a write loop;
// one of them is the leader. Writes resume within writeResumeMax every time and
// nothing acknowledged is lost.
func testMetaLeaderKill(t *testing.T, e *env, c *corpus) {
	var gaps []string
	var worst time.Duration
	leaderGap := time.Duration(-1)
	for _, svc := range []string{"meta1", "meta2", "meta3"} {
		id := e.container(t, svc)
		leader := e.metaLeader(t)
		w := startWriteLoop(e, c, "kill-"+svc)
		time.Sleep(2 * time.Second)
		if _, err := e.run("docker", "kill", id); err != nil {
			w.finish()
			t.Fatal(err)
		}
		killed := time.Now()
		time.Sleep(8 * time.Second)
		gap, acked, failed, lastErr := w.finish()
		role := "follower"
		if svc == leader {
			role, leaderGap = "leader", max(leaderGap, gap)
		}
		t.Logf("killed %s (%s; leader was %q): longest write gap %v (%d writes acknowledged, %d failed, last error %v)",
			svc, role, leader, gap.Round(time.Millisecond), acked, failed, lastErr)
		gaps = append(gaps, fmt.Sprintf("%s(%s)=%v", svc, role, gap.Round(time.Millisecond)))
		worst = max(worst, gap)
		if gap > writeResumeMax {
			t.Errorf("writes stalled %v after killing %s at %s, want at most %v", gap, svc, killed.Format(time.TimeOnly), writeResumeMax)
		}
		e.composeRun(t, "start", svc)
		// Let the voter rejoin and catch up before the next one is killed, so the
		// cluster never loses its quorum.
		e.waitWrites(t, c, svc)
		time.Sleep(5 * time.Second)
	}
	t.Logf("write gap after meta voter kill: %s; worst %v; worst after a leader kill %v", strings.Join(gaps, " "), worst.Round(time.Millisecond), leaderGap.Round(time.Millisecond))
	if leaderGap < 0 {
		t.Error("no meta voter was the leader when killed (leader not found in the meta logs)")
	}
	e.checkAll(t, c)
}

// metaLeader is the meta voter that most recently logged entering the leader state
// ("" if none did): the raft log line is the only outside view of leadership.
func (e *env) metaLeader(t *testing.T) string {
	t.Helper()
	var leader, latest string
	for _, svc := range []string{"meta1", "meta2", "meta3"} {
		out, err := e.run("docker", "logs", e.container(t, svc))
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(out) {
			if !strings.Contains(line, `msg="entering leader state"`) {
				continue
			}
			// Text log lines start with time=<RFC 3339, fixed width in UTC>.
			ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
			if ts > latest {
				leader, latest = svc, ts
			}
		}
	}
	return leader
}

// waitWrites waits up to recoverTimeout until a write through each gateway succeeds.
func (e *env) waitWrites(t *testing.T, c *corpus, tag string) {
	t.Helper()
	deadline := time.Now().Add(recoverTimeout)
	for i, g := range gateways {
		for {
			err := e.put(g, c, fmt.Sprintf("probe/%s-%d-%d", tag, i, time.Now().UnixNano()), random(1000))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no write through %s within %v after %s: %v", g.name, recoverTimeout, tag, err)
			}
			time.Sleep(time.Second)
		}
	}
}

// testRestartAll restarts every container at once; afterwards both gateways become
// ready and every object is intact.
func testRestartAll(t *testing.T, e *env, c *corpus) {
	start := time.Now()
	e.composeRun(t, "restart", "-t", "20")
	for _, g := range gateways {
		must(t, e.waitReady(g, readyTimeout))
	}
	t.Logf("whole cluster restarted and ready in %v", time.Since(start).Round(time.Millisecond))
	e.waitWrites(t, c, "restart")
	e.checkAll(t, c)
}

// testNetworkCut disconnects one storage container from the cluster network: writes
// still succeed and everything reads; after reconnecting, writes place every shard
// again.
func testNetworkCut(t *testing.T, e *env, c *corpus) {
	const svc = "storage3"
	id := e.container(t, svc)
	if _, err := e.run("docker", "network", "disconnect", e.network(), id); err != nil {
		t.Fatal(err)
	}
	connected := false
	reconnect := func() {
		if !connected {
			connected = true
			// The service alias is what the other nodes resolve.
			if _, err := e.run("docker", "network", "connect", "--alias", svc, e.network(), id); err != nil {
				t.Error(err)
			}
		}
	}
	defer reconnect()
	// A write that places a shard on the cut-off node must not stall: the gateway
	// drops a shard whose stream stops moving (pipeline stall timeout) once the write
	// quorum is in, and passes the node over for a while after that.
	stalled := 0
	for i := range 6 {
		g := gateways[i%2]
		start := time.Now()
		err := e.putWithin(cutRequestTimeout, g, c, fmt.Sprintf("cut/obj-%02d", i), random(300<<10))
		t.Logf("write %d via %s with %s cut off: %v, error %v", i, g.name, svc, time.Since(start).Round(time.Millisecond), err)
		if err != nil {
			stalled++
		}
	}
	if stalled > 0 {
		t.Errorf("%d of 6 writes failed with %s cut off", stalled, svc)
	}
	e.checkAll(t, c)
	reconnect()
	start := time.Now()
	for i := 0; ; i++ {
		before := e.missingShardLines(t)
		must(t, e.put(gateways[i%2], c, fmt.Sprintf("cut/back-%02d", i), random(200<<10)))
		if e.missingShardLines(t) == before {
			break
		}
		if time.Since(start) > recoverTimeout {
			t.Fatalf("writes still record missing shards %v after reconnecting %s", recoverTimeout, svc)
		}
		time.Sleep(time.Second)
	}
	t.Logf("writes place every shard again %v after reconnecting %s", time.Since(start).Round(time.Millisecond), svc)
	e.checkAll(t, c)
}
