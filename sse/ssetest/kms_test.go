package ssetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/coffer-io/coffer/sse"
)

func TestKMSRoundTrip(t *testing.T) {
	ctx := context.Background()
	k := NewKMS(1)
	id := k.CreateKey()
	enc := map[string]string{"bucket": "b", "purpose": "test"}
	plain, sealed, keyID, err := k.GenerateDataKey(ctx, id, enc)
	if err != nil {
		t.Fatal(err)
	}
	if keyID != id || len(plain) != sse.KeyBytes {
		t.Fatalf("keyID %q (want %q), %d-byte key", keyID, id, len(plain))
	}
	got, err := k.Decrypt(ctx, id, sealed, map[string]string{"purpose": "test", "bucket": "b"})
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("decrypt: %v", err)
	}

	other := k.CreateKey()
	failures := []struct {
		name   string
		id     string
		sealed []byte
		enc    map[string]string
		want   error
	}{
		{"other context", id, sealed, map[string]string{"bucket": "c", "purpose": "test"}, sse.ErrAuth},
		{"no context", id, sealed, nil, sse.ErrAuth},
		{"other cmk", other, sealed, enc, sse.ErrAuth},
		{"unknown cmk", "nope", sealed, enc, sse.ErrKMSKeyNotFound},
		{"flipped byte", id, append(bytes.Clone(sealed[:len(sealed)-1]), sealed[len(sealed)-1]^1), enc, sse.ErrAuth},
		{"truncated", id, sealed[:10], enc, sse.ErrAuth},
	}
	for _, f := range failures {
		if _, err := k.Decrypt(ctx, f.id, f.sealed, f.enc); !errors.Is(err, f.want) {
			t.Errorf("%s: got %v, want %v", f.name, err, f.want)
		}
	}

	// Disable fails closed both ways; Enable restores; Delete is final.
	if err := k.Disable(id); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Decrypt(ctx, id, sealed, enc); !errors.Is(err, sse.ErrKMSKeyDisabled) {
		t.Fatalf("decrypt under a disabled key: %v", err)
	}
	if _, _, _, err := k.GenerateDataKey(ctx, id, enc); !errors.Is(err, sse.ErrKMSKeyDisabled) {
		t.Fatalf("generate under a disabled key: %v", err)
	}
	if err := k.Enable(id); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Decrypt(ctx, id, sealed, enc); err != nil {
		t.Fatalf("decrypt after enable: %v", err)
	}
	if err := k.Delete(id); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Decrypt(ctx, id, sealed, enc); !errors.Is(err, sse.ErrKMSKeyNotFound) {
		t.Fatalf("decrypt under a deleted key: %v", err)
	}
	for _, op := range []func(string) error{k.Disable, k.Enable, k.Delete} {
		if err := op(id); !errors.Is(err, sse.ErrKMSKeyNotFound) {
			t.Fatalf("operation on a deleted key: %v", err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, _, err := k.GenerateDataKey(cancelled, other, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestKMSDefaultKeyAndDeterminism(t *testing.T) {
	ctx := context.Background()
	run := func() (string, []byte, []byte) {
		k := NewKMS(42)
		plain, sealed, id, err := k.GenerateDataKey(ctx, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if id != k.DefaultKey() {
			t.Fatalf("empty cmk id used %q, default is %q", id, k.DefaultKey())
		}
		if got, err := k.Decrypt(ctx, "", sealed, nil); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("decrypt with the default key: %v", err)
		}
		return id, plain, sealed
	}
	id1, p1, s1 := run()
	id2, p2, s2 := run()
	if id1 != id2 || !bytes.Equal(p1, p2) || !bytes.Equal(s1, s2) {
		t.Fatal("same seed, different results")
	}
	if id3 := NewKMS(43).DefaultKey(); id3 == id1 {
		t.Fatal("different seeds, same key id")
	}
}

// TestKMSWithSealDEK is the SSE-KMS flow the gateway runs.
func TestKMSWithSealDEK(t *testing.T) {
	ctx := context.Background()
	k := NewKMS(7)
	rnd := Rand(7)
	encCtx := map[string]string{"team": "a"}
	kekBytes, blob, cmk, err := k.GenerateDataKey(ctx, "", encCtx)
	if err != nil {
		t.Fatal(err)
	}
	kek, err := sse.KeyFromBytes(kekBytes)
	if err != nil {
		t.Fatal(err)
	}
	dek, _ := sse.GenerateDEK(rnd)
	b := sse.Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: sse.ModeKMS, CMKID: cmk, Context: encCtx}
	sealed, err := sse.SealDEK(rnd, kek, dek, b)
	if err != nil {
		t.Fatal(err)
	}
	// Read path: the KMS gives the KEK back, which opens the DEK.
	back, err := k.Decrypt(ctx, cmk, blob, encCtx)
	if err != nil {
		t.Fatal(err)
	}
	kek2, _ := sse.KeyFromBytes(back)
	if got, err := sse.UnsealDEK(kek2, sealed, b); err != nil || got != dek {
		t.Fatalf("unseal: %v", err)
	}
	if err := k.Disable(cmk); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Decrypt(ctx, cmk, blob, encCtx); !errors.Is(err, sse.ErrKMSKeyDisabled) {
		t.Fatalf("disabled CMK: %v", err)
	}
}

func TestKMSConcurrent(t *testing.T) {
	ctx := context.Background()
	k := NewKMS(3)
	ids := []string{k.CreateKey(), k.CreateKey()}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := ids[(g+i)%2]
				enc := map[string]string{"g": fmt.Sprint(g)}
				plain, sealed, _, err := k.GenerateDataKey(ctx, id, enc)
				if err == nil {
					var got []byte
					got, err = k.Decrypt(ctx, id, sealed, enc)
					if err == nil && !bytes.Equal(got, plain) {
						err = errors.New("round trip differs")
					}
				}
				if i == 25 && g == 0 {
					_ = k.Disable(ids[1])
					_ = k.Enable(ids[1])
				}
				if err != nil && !errors.Is(err, sse.ErrKMSKeyDisabled) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
