package cluster

import (
	"bytes"
	"errors"
	"log/slog"
	"sort"
	"testing"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/hashicorp/go-hclog"
)

func openFSM(t testing.TB) machine {
	t.Helper()
	m, err := openMetaMachine(t.TempDir(), &Config{FSMCacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// FuzzReadHandlers feeds arbitrary argument bytes (as a peer could send them) to every
// read handler of the metadata FSM: each must answer a result or an error, never panic.
func FuzzReadHandlers(f *testing.F) {
	names := make([]string, 0, len(metaReads))
	for name := range metaReads {
		names = append(names, name)
	}
	sort.Strings(names)
	for i := range names {
		f.Add(uint8(i), []byte(`{}`))
		f.Add(uint8(i), []byte(`{"name":"b","bucket":"b","key":"k","opts":{"MaxKeys":-1}}`))
		f.Add(uint8(i), []byte(`{"after":{"Bucket":"x"},"limit":99999999}`))
	}
	f.Add(uint8(0), []byte(`null`))
	f.Add(uint8(1), []byte{0xff, 0x00})
	m := openFSM(f)
	f.Fuzz(func(t *testing.T, which uint8, args []byte) {
		h := metaReads[names[int(which)%len(names)]]
		out, err := h(m, args)
		if err == nil && out == nil {
			t.Fatal("handler returned neither a result nor an error")
		}
		var app appError
		if err != nil && !errors.Is(err, ErrBadRequest) && !errors.As(err, &app) {
			t.Fatalf("handler error is neither a bad request nor a state-machine error: %v", err)
		}
	})
}

func TestReadErrorsKeepIdentityOverTheWire(t *testing.T) {
	m := openFSM(t)
	tests := []struct {
		op   string
		args string
		want error
	}{
		{readBucket.name, `{"name":"nope"}`, meta.ErrBucketNotFound},
		{readObject.name, `{"bucket":"nope","key":"k"}`, meta.ErrBucketNotFound},
		{readUser.name, `{"name":"AKID"}`, meta.ErrUserNotFound},
		{readCMK.name, `{"name":"k"}`, meta.ErrCMKNotFound},
	}
	for _, tt := range tests {
		_, err := metaReads[tt.op](m, []byte(tt.args))
		var app appError
		if !errors.As(err, &app) {
			t.Errorf("%s: %v is not a state-machine error", tt.op, err)
			continue
		}
		code, msg := m.errorCode(app.err)
		back := m.errorFrom(code, msg)
		if !errors.Is(back, tt.want) {
			t.Errorf("%s: decoded error %v does not match %v", tt.op, back, tt.want)
		}
	}
	if _, err := metaReads[readBucket.name](m, []byte(`{`)); !errors.Is(err, ErrBadRequest) {
		t.Errorf("malformed arguments: %v, want ErrBadRequest", err)
	}
	if _, err := fsmOf(&testMachine{}); err == nil {
		t.Error("fsmOf accepted a foreign machine")
	}
}

func TestHclogAdapter(t *testing.T) {
	var buf bytes.Buffer
	l := newHclog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), "raft", hclog.Info)
	l.Debug("hidden below the adapter's level")
	l.Named("transport").With("peer", "m1").Warn("slow peer", "ms", 12)
	out := buf.String()
	if bytes.Contains(buf.Bytes(), []byte("hidden")) {
		t.Errorf("debug message passed an info-level adapter: %s", out)
	}
	for _, want := range []string{"level=WARN", "slow peer", "component=raft.transport", "peer=m1", "ms=12"} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("log line lacks %q: %s", want, out)
		}
	}
	if !l.IsWarn() || l.IsDebug() {
		t.Error("level predicates disagree with the adapter level")
	}
}
