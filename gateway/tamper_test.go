package gateway_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// tamperObjectBytes is the size of every object the tamper test writes: 4+2 with
// 64 KiB blocks puts 512 KiB in each shard, so shards are files (above the stores'
// 128 KiB inline limit) the test can reach on disk.
const tamperObjectBytes = 2 << 20

// logBuffer collects a cluster's log lines for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tamper is a test cluster whose shard files the test edits on disk.
type tamper struct {
	t      *testing.T
	c      *gatewaytest.Cluster
	bucket string
	cl     *cos.Client
	log    *logBuffer
}

func newTamper(t *testing.T, bucket string) *tamper {
	log := &logBuffer{}
	c := gatewaytest.StartWith(t, gatewaytest.Options{Logger: slog.New(slog.NewTextHandler(log, nil))})
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	return &tamper{t: t, c: c, bucket: bucket, cl: cl, log: log}
}

// put writes a random object, optionally with SSE-COS, and returns its bytes.
func (x *tamper) put(key string, sse bool) []byte {
	x.t.Helper()
	data := randomBytes(tamperObjectBytes)
	var opt *cos.ObjectPutOptions
	if sse {
		opt = &cos.ObjectPutOptions{ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XCosServerSideEncryption: "AES256"}}
	}
	if _, err := x.cl.Object.Put(x.t.Context(), key, bytes.NewReader(data), opt); err != nil {
		x.t.Fatalf("PUT %s: %v", key, err)
	}
	return data
}

// shardFile returns the node index and on-disk path of shard index of key's
// current version (a simple object).
func (x *tamper) shardFile(key string, index int) (int, string) {
	x.t.Helper()
	v, err := x.c.Meta.GetObject(x.t.Context(), x.bucket, key)
	if err != nil {
		x.t.Fatalf("metadata of %s: %v", key, err)
	}
	return x.shardFileOf(v, index)
}

func (x *tamper) shardFileOf(v *meta.Version, index int) (int, string) {
	x.t.Helper()
	id := v.Layout.Nodes[index]
	n, err := strconv.Atoi(strings.TrimPrefix(id, "storage-"))
	if err != nil || n < 0 || n >= len(x.c.StorageDirs()) {
		x.t.Fatalf("shard %d of %s is on unknown node %q", index, v.Key, id)
	}
	sid := v.VersionID
	p := filepath.Join(x.c.StorageDirs()[n], "shards", fmt.Sprintf("%02x", sid[0]), fmt.Sprintf("%02x", sid[1]),
		fmt.Sprintf("%x-%08x-%04x", sid[:], 0, index))
	if _, err := os.Stat(p); err != nil {
		x.t.Fatalf("shard %d of %s is not a file: %v", index, v.Key, err)
	}
	return n, p
}

// offline runs edit with the given storage nodes stopped, then starts them again.
func (x *tamper) offline(nodes []int, edit func()) {
	x.t.Helper()
	for _, n := range nodes {
		x.c.StopStorage(n)
	}
	edit()
	for _, n := range nodes {
		x.c.StartStorage(n)
	}
}

// swapFiles exchanges the contents of two files of the same length.
func swapFiles(t *testing.T, a, b string) {
	t.Helper()
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(da) != len(db) || bytes.Equal(da, db) {
		t.Fatalf("shard files to swap: %d and %d bytes, equal %v", len(da), len(db), bytes.Equal(da, db))
	}
	if err := os.WriteFile(a, db, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, da, 0o600); err != nil {
		t.Fatal(err)
	}
}

// get reads key and returns whether the read succeeded whole. A failure must be a
// server error response (the status line waits for the first decoded byte), and
// whatever bytes arrive must be a prefix of want: a tampered object may fail, never
// return other bytes.
func (x *tamper) get(key string, want []byte) bool {
	x.t.Helper()
	resp, err := x.cl.Object.Get(x.t.Context(), key, nil)
	if err != nil {
		if resp == nil {
			x.t.Errorf("GET %s: no response, want a server error: %v", key, err)
			return false
		}
		resp.Body.Close()
		if resp.StatusCode < http.StatusInternalServerError {
			x.t.Errorf("GET %s failed with %d, want a server error: %v", key, resp.StatusCode, err)
		}
		// An error response carries none of the object's headers.
		for _, h := range []string{"ETag", "x-cos-hash-crc64ecma", "Content-Range", "Last-Modified"} {
			if v := resp.Header.Get(h); v != "" {
				x.t.Errorf("GET %s error response carries %s: %q", key, h, v)
			}
		}
		x.t.Logf("GET %s: %d", key, resp.StatusCode)
		return false
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if !bytes.Equal(got, want[:min(len(got), len(want))]) {
		x.t.Fatalf("GET %s returned %d bytes that are not the object's", key, len(got))
	}
	if err != nil || len(got) != len(want) {
		x.t.Logf("GET %s: 200, body cut after %d bytes: %v", key, len(got), err)
		return false
	}
	return true
}

// TestShardSwap swaps shard files between objects, and overwrites one, on the
// storage nodes' disks (issue 6): a read either returns the exact original bytes,
// rebuilt from parity with the bad shard reported, or fails with a server error; it
// never returns another object's bytes.
func TestShardSwap(t *testing.T) {
	x := newTamper(t, "tamper-1250000000")
	for _, sse := range []bool{false, true} {
		name := "plain"
		if sse {
			name = "sse-cos"
		}
		t.Run(name, func(t *testing.T) {
			x.t = t
			a, b := x.put(name+"/a", sse), x.put(name+"/b", sse)
			logged := len(x.log.String())

			// One shard index swapped: parity repairs both objects.
			na, pa := x.shardFile(name+"/a", 1)
			nb, pb := x.shardFile(name+"/b", 1)
			x.offline([]int{na, nb}, func() { swapFiles(t, pa, pb) })
			for key, want := range map[string][]byte{name + "/a": a, name + "/b": b} {
				if !x.get(key, want) {
					t.Errorf("GET %s with one swapped shard failed; parity should repair it", key)
				}
			}
			if got := x.log.String()[logged:]; strings.Count(got, "shard faults on read") < 2 || !strings.Contains(got, "bad_shards=[1]") {
				t.Errorf("the swapped shards were not reported as bad; log:\n%s", got)
			}

			// m+1 = 3 shard indexes swapped: more damage than parity repairs.
			c, d := x.put(name+"/c", sse), x.put(name+"/d", sse)
			var nodes []int
			var pairs [][2]string
			for _, i := range []int{0, 2, 4} {
				nc, pc := x.shardFile(name+"/c", i)
				nd, pd := x.shardFile(name+"/d", i)
				nodes = append(nodes, nc, nd)
				pairs = append(pairs, [2]string{pc, pd})
			}
			slices.Sort(nodes)
			x.offline(slices.Compact(nodes), func() {
				for _, p := range pairs {
					swapFiles(t, p[0], p[1])
				}
			})
			for key, want := range map[string][]byte{name + "/c": c, name + "/d": d} {
				if x.get(key, want) {
					t.Errorf("GET %s with three swapped shards succeeded", key)
				}
			}

			// One shard overwritten with random bytes of the same length: repaired.
			e := x.put(name+"/e", sse)
			ne, pe := x.shardFile(name+"/e", 3)
			x.offline([]int{ne}, func() {
				info, err := os.Stat(pe)
				if err != nil {
					t.Fatal(err)
				}
				junk := make([]byte, info.Size())
				rand.Read(junk)
				if err := os.WriteFile(pe, junk, 0o600); err != nil {
					t.Fatal(err)
				}
			})
			if !x.get(name+"/e", e) {
				t.Errorf("GET %s with one shard of random bytes failed; parity should repair it", name+"/e")
			}
		})
	}
}

// TestSealedKeySwap gives an SSE-COS object another object's sealed data key in
// metadata: the key is bound to its own object, so the read fails with a server
// error before any byte is sent. (gateway/ssec_test.go's "tamper" case covers SSE-C.)
func TestSealedKeySwap(t *testing.T) {
	x := newTamper(t, "sealed-1250000000")
	ctx := t.Context()
	x.put("a", true)
	b := x.put("b", true)
	va, err := x.c.Meta.GetObject(ctx, x.bucket, "a")
	if err != nil {
		t.Fatal(err)
	}
	vb, err := x.c.Meta.GetObject(ctx, x.bucket, "b")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(va.SSE.SealedDEK, vb.SSE.SealedDEK) || va.Size != vb.Size {
		t.Fatal("objects a and b do not have distinct sealed keys and equal sizes")
	}
	swapped := *va
	swapped.SSE = vb.SSE
	// Committing the same version id again is a no-op: drop a first (this cluster
	// runs no garbage collector, so its shards stay).
	if _, err := x.c.Meta.Apply(ctx, &meta.DeleteObject{Bucket: x.bucket, Key: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.c.Meta.Apply(ctx, &meta.CommitObject{Version: swapped}); err != nil {
		t.Fatalf("commit a with b's sealed key: %v", err)
	}
	resp, err := x.cl.Object.Get(ctx, "a", nil)
	if err == nil {
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("a with b's sealed key was served (%d bytes, b's bytes: %v)", len(got), bytes.Equal(got, b))
	}
	if resp == nil || resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("a with b's sealed key: %v, want 500", err)
	}
	if !x.get("b", b) {
		t.Error("b no longer reads back")
	}
}
