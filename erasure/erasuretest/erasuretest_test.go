package erasuretest_test

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/coffer-io/coffer/erasure/erasuretest"
)

func TestShardReaderAtAcceptsBytesReader(t *testing.T) {
	erasuretest.TestShardReaderAt(t, func(_ testing.TB, shard []byte) io.ReaderAt { return bytes.NewReader(shard) })
}

// recorder is a testing.TB whose Fatal ends the calling goroutine and is recorded
// instead of failing the real test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(args ...any) {
	r.failed = true
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) { r.Fatal() }

// TestShardReaderAtRejectsBadStores checks that the conformance check can fail.
func TestShardReaderAtRejectsBadStores(t *testing.T) {
	for name, store := range map[string]func(testing.TB, []byte) io.ReaderAt{
		"truncates": func(_ testing.TB, s []byte) io.ReaderAt { return bytes.NewReader(s[:len(s)-1]) },
		"flips a bit": func(_ testing.TB, s []byte) io.ReaderAt {
			return bytes.NewReader(erasuretest.FlipBit(s, int64(len(s))*8-1))
		},
	} {
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			erasuretest.TestShardReaderAt(r, store)
		}()
		<-done
		if !r.failed {
			t.Errorf("a store that %s passed", name)
		}
	}
}
