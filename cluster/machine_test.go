package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/raft"
)

// testMachine is a tiny persistent state machine for node tests: named counters
// changed by "id|add|name|delta" commands, idempotent by id, persisted to a JSON
// file after every batch and skipping already-applied indexes, like the real FSM.
type testMachine struct {
	path string
	mu   sync.Mutex
	st   testState
}

type testState struct {
	Applied  uint64           `json:"applied"`
	Counters map[string]int64 `json:"counters"`
	Seen     map[string]int64 `json:"seen"` // request id → result
	Applies  int64            `json:"applies"`
}

var errNoCounter = errors.New("test: no such counter")

func openTestMachine(dir string, _ *Config) (machine, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	m := &testMachine{path: filepath.Join(dir, "state.json")}
	m.st = testState{Counters: map[string]int64{}, Seen: map[string]int64{}}
	b, err := os.ReadFile(m.path)
	if err == nil {
		if err := json.Unmarshal(b, &m.st); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return m, nil
}

func addCmd(id, name string, delta int64) []byte {
	return []byte(fmt.Sprintf("%s|add|%s|%d", id, name, delta))
}

func parseCmd(b []byte) (id, name string, delta int64, err error) {
	f := strings.Split(string(b), "|")
	if len(f) != 4 || f[1] != "add" || f[0] == "" {
		return "", "", 0, errors.New("test: malformed command")
	}
	delta, err = strconv.ParseInt(f[3], 10, 64)
	return f[0], f[2], delta, err
}

func (m *testMachine) applyLocked(l *raft.Log) any {
	if l.Index <= m.st.Applied {
		return errors.New("test: stale")
	}
	m.st.Applied = l.Index
	if l.Type != raft.LogCommand {
		return nil
	}
	id, name, delta, err := parseCmd(l.Data)
	if err != nil {
		return err
	}
	if r, ok := m.st.Seen[id]; ok {
		return r
	}
	m.st.Applies++
	m.st.Counters[name] += delta
	m.st.Seen[id] = m.st.Counters[name]
	return m.st.Counters[name]
}

func (m *testMachine) persistLocked() {
	b, _ := json.Marshal(m.st)
	tmp := m.path + ".tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		os.Rename(tmp, m.path)
	}
}

func (m *testMachine) Apply(l *raft.Log) any {
	return m.ApplyBatch([]*raft.Log{l})[0]
}

func (m *testMachine) ApplyBatch(logs []*raft.Log) []any {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]any, len(logs))
	for i, l := range logs {
		out[i] = m.applyLocked(l)
	}
	m.persistLocked()
	return out
}

func (m *testMachine) Snapshot() (raft.FSMSnapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := json.Marshal(m.st)
	return testSnapshot(b), err
}

func (m *testMachine) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var st testState
	if err := json.NewDecoder(rc).Decode(&st); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st = st
	m.persistLocked()
	return nil
}

func (m *testMachine) AppliedIndex() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Applied
}

func (m *testMachine) counter(name string) (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.st.Counters[name]
	return v, ok
}

func (m *testMachine) applies() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Applies
}

func (m *testMachine) Close() error { return nil }

func (m *testMachine) checkCommand(b []byte) error {
	_, _, _, err := parseCmd(b)
	return err
}

func (m *testMachine) encodeResponse(resp any) ([]byte, error) {
	switch r := resp.(type) {
	case int64:
		return []byte("ok:" + strconv.FormatInt(r, 10)), nil
	case error:
		return []byte("err:" + r.Error()), nil
	}
	return nil, fmt.Errorf("test: response %T", resp)
}

func (m *testMachine) decodeResponse(b []byte) (any, error) {
	s := string(b)
	if v, ok := strings.CutPrefix(s, "ok:"); ok {
		return strconv.ParseInt(v, 10, 64)
	}
	if v, ok := strings.CutPrefix(s, "err:"); ok {
		return errors.New(v), nil
	}
	return nil, errors.New("test: bad response")
}

func (m *testMachine) errorCode(err error) (int, string) {
	if errors.Is(err, errNoCounter) {
		return 1, err.Error()
	}
	return 2, err.Error()
}

func (m *testMachine) errorFrom(code int, msg string) error {
	if code == 1 {
		return fmt.Errorf("%w (%s)", errNoCounter, msg)
	}
	return errors.New(msg)
}

var testGet = readOp[string, int64]{
	name: "test-get",
	run: func(sm machine, name string) (int64, error) {
		v, ok := sm.(*testMachine).counter(name)
		if !ok {
			return 0, errNoCounter
		}
		return v, nil
	},
}

func (m *testMachine) readHandler(op string) (readHandler, bool) {
	if op == testGet.name {
		return testGet.handler(), true
	}
	return nil, false
}

type testSnapshot []byte

func (s testSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s testSnapshot) Release() {}
