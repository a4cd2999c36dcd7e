package fsm

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"

	"github.com/coffer-io/coffer/cluster/meta"
)

// BenchmarkApplyBatch measures one raft batch of 64 CommitObject commands (one
// Pebble batch, one synced commit), on the in-memory FS and on the real disk.
func BenchmarkApplyBatch(b *testing.B) {
	for _, fsName := range []string{"mem", "disk"} {
		b.Run("CommitObject64/"+fsName, func(b *testing.B) {
			cfg := Config{}
			if fsName == "disk" {
				cfg.FS, cfg.Dir = vfs.Default, b.TempDir()
			}
			x := newTesterCfg(b, cfg)
			x.ok(bucket("bench"))
			const batch = 64
			// Pre-encode the commands so the benchmark measures the state machine.
			logs := make([][]*raft.Log, b.N)
			for i := range logs {
				logs[i] = make([]*raft.Log, batch)
				for j := range batch {
					n := uint64(i*batch + j)
					var vid meta.ID
					binary.BigEndian.PutUint64(vid[:], n+1)
					v := version("bench", fmt.Sprintf("obj/%08d", n%5000), vid, 4096, 1)
					logs[i][j] = x.entry(x.nextReq(), &meta.CommitObject{Version: v})
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				out := x.f.ApplyBatch(logs[i])
				if err := out[batch-1].(*meta.Result).Err(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}

// BenchmarkListObjects lists a bucket of 10k keys in pages of 1000, flat and with a
// delimiter that rolls 100 keys into each of 100 prefixes.
func BenchmarkListObjects(b *testing.B) {
	x := newTester(b)
	x.ok(bucket("bench"))
	const keys = 10000
	var logs []*raft.Log
	for n := range keys {
		var vid meta.ID
		binary.BigEndian.PutUint64(vid[:], uint64(n+1))
		v := version("bench", fmt.Sprintf("dir%03d/obj%05d", n/100, n), vid, 4096, 1)
		logs = append(logs, x.entry(x.nextReq(), &meta.CommitObject{Version: v}))
		if len(logs) == 64 {
			x.f.ApplyBatch(logs)
			logs = logs[:0]
		}
	}
	x.f.ApplyBatch(logs)
	for _, tc := range []struct {
		name  string
		opts  meta.ListObjectsOptions
		items int
	}{
		{"10k/flat", meta.ListObjectsOptions{}, keys},
		{"10k/delimiter", meta.ListObjectsOptions{Delimiter: "/"}, keys / 100},
		{"10k/prefix-delimiter", meta.ListObjectsOptions{Prefix: "dir050/", Delimiter: "/"}, 100},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				o := tc.opts
				n := 0
				for {
					r, err := x.f.ListObjects("bench", o)
					if err != nil {
						b.Fatal(err)
					}
					n += len(r.Objects) + len(r.CommonPrefixes)
					if !r.IsTruncated {
						break
					}
					o.Marker = r.NextMarker
				}
				if n != tc.items {
					b.Fatalf("listed %d, want %d", n, tc.items)
				}
			}
			// Keys covered per second: every key in the listed range counts, rolled up
			// or not.
			covered := keys
			if tc.opts.Prefix != "" {
				covered = 100
			}
			b.ReportMetric(float64(b.N*covered)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}
