package cluster

import (
	"errors"
	"fmt"

	"github.com/coffer-io/coffer/cluster/internal/fsm"
	"github.com/coffer-io/coffer/cluster/meta"
)

// metaMachine is the metadata FSM as the node's machine.
type metaMachine struct{ *fsm.FSM }

func openMetaMachine(dir string, cfg *Config) (machine, error) {
	f, err := fsm.Open(fsm.Config{Dir: dir, CacheBytes: cfg.FSMCacheBytes})
	if err != nil {
		return nil, err
	}
	return &metaMachine{f}, nil
}

func (m *metaMachine) checkCommand(b []byte) error {
	_, c, err := meta.DecodeCommand(b)
	if err != nil {
		return err
	}
	return c.Validate()
}

func (m *metaMachine) encodeResponse(resp any) ([]byte, error) {
	r, ok := resp.(*meta.Result)
	if !ok || r == nil {
		return nil, fmt.Errorf("cluster: state machine answered %T, want *meta.Result", resp)
	}
	return meta.EncodeResult(r)
}

func (m *metaMachine) decodeResponse(b []byte) (any, error) { return meta.DecodeResult(b) }

func (m *metaMachine) errorCode(err error) (int, string) { return int(meta.CodeOf(err)), err.Error() }

func (m *metaMachine) errorFrom(code int, msg string) error { return metaErrorFrom(code, msg) }

func metaErrorFrom(code int, msg string) error {
	if code <= 0 || code > 0xFFFF {
		return errors.New(msg)
	}
	return &meta.Error{Code: meta.Code(code), Msg: msg}
}

func (m *metaMachine) readHandler(op string) (readHandler, bool) {
	h, ok := metaReads[op]
	return h, ok
}

// fsmOf returns the metadata FSM behind sm.
func fsmOf(sm machine) (*fsm.FSM, error) {
	m, ok := sm.(*metaMachine)
	if !ok {
		return nil, fmt.Errorf("cluster: state machine %T is not the metadata FSM", sm)
	}
	return m.FSM, nil
}

// Arguments of the reads; their JSON is part of the internal RPC.
type (
	nameArgs struct {
		Name string `json:"name"`
	}
	objectArgs struct {
		Bucket string `json:"bucket"`
		Key    string `json:"key"`
	}
	listObjectsArgs struct {
		Bucket string                  `json:"bucket"`
		Opts   meta.ListObjectsOptions `json:"opts"`
	}
	uploadArgs struct {
		Bucket string  `json:"bucket"`
		Key    string  `json:"key"`
		ID     meta.ID `json:"id"`
	}
	listUploadsArgs struct {
		Bucket string                  `json:"bucket"`
		Opts   meta.ListUploadsOptions `json:"opts"`
	}
	listPartsArgs struct {
		Bucket string                `json:"bucket"`
		Key    string                `json:"key"`
		ID     meta.ID               `json:"id"`
		Opts   meta.ListPartsOptions `json:"opts"`
	}
	garbageArgs struct {
		After uint64 `json:"after"`
		Limit int    `json:"limit"`
	}
	byMasterKeyArgs struct {
		Version uint32       `json:"v"`
		After   *meta.KeyRef `json:"after,omitempty"`
		Limit   int          `json:"limit"`
	}
	noArgs struct{}
)

// fsmRead builds a readOp over the metadata FSM.
func fsmRead[A, R any](name string, run func(f *fsm.FSM, a A) (R, error)) readOp[A, R] {
	return readOp[A, R]{name: name, run: func(sm machine, a A) (R, error) {
		f, err := fsmOf(sm)
		if err != nil {
			var zero R
			return zero, err
		}
		return run(f, a)
	}}
}

// The reads of the metadata FSM. Names are part of the internal RPC.
var (
	readBucket  = fsmRead("bucket", func(f *fsm.FSM, a nameArgs) (*meta.Bucket, error) { return f.GetBucket(a.Name) })
	readBuckets = fsmRead("buckets", func(f *fsm.FSM, a nameArgs) ([]meta.Bucket, error) { return f.ListBuckets(a.Name) })
	readObject  = fsmRead("object", func(f *fsm.FSM, a objectArgs) (*meta.Version, error) { return f.GetObject(a.Bucket, a.Key) })
	readObjects = fsmRead("objects", func(f *fsm.FSM, a listObjectsArgs) (meta.ListObjectsResult, error) {
		return f.ListObjects(a.Bucket, a.Opts)
	})
	readUpload  = fsmRead("upload", func(f *fsm.FSM, a uploadArgs) (*meta.Upload, error) { return f.GetUpload(a.Bucket, a.Key, a.ID) })
	readUploads = fsmRead("uploads", func(f *fsm.FSM, a listUploadsArgs) (meta.ListUploadsResult, error) {
		return f.ListUploads(a.Bucket, a.Opts)
	})
	readParts = fsmRead("parts", func(f *fsm.FSM, a listPartsArgs) (meta.ListPartsResult, error) {
		return f.ListParts(a.Bucket, a.Key, a.ID, a.Opts)
	})
	readUser    = fsmRead("user", func(f *fsm.FSM, a nameArgs) (*meta.User, error) { return f.GetUser(a.Name) })
	readUsers   = fsmRead("users", func(f *fsm.FSM, _ noArgs) ([]meta.User, error) { return f.ListUsers() })
	readKeyRing = fsmRead("keyring", func(f *fsm.FSM, _ noArgs) (meta.KeyRing, error) { return f.KeyRing() })
	readCensus  = fsmRead("census", func(f *fsm.FSM, _ noArgs) (map[uint32]uint64, error) { return f.Census() })
	readCMK     = fsmRead("cmk", func(f *fsm.FSM, a nameArgs) (*meta.CMK, error) { return f.GetCMK(a.Name) })
	readCMKs    = fsmRead("cmks", func(f *fsm.FSM, _ noArgs) ([]meta.CMK, error) { return f.ListCMKs() })
	readLayout  = fsmRead("layout", func(f *fsm.FSM, _ noArgs) (meta.ClusterLayout, error) { return f.Layout() })
	readGarbage = fsmRead("garbage", func(f *fsm.FSM, a garbageArgs) ([]meta.GarbageItem, error) {
		return f.GarbageList(a.After, a.Limit)
	})
	readByMasterKey = fsmRead("by-master-key", func(f *fsm.FSM, a byMasterKeyArgs) ([]meta.KeyRef, error) {
		return f.VersionsByMasterKey(a.Version, a.After, a.Limit)
	})
	readStats = fsmRead("stats", func(f *fsm.FSM, _ noArgs) (meta.Stats, error) { return f.Stats() })
)

// metaReads maps read names to their RPC handlers. It is built once and never
// changed.
var metaReads = map[string]readHandler{
	readBucket.name:      readBucket.handler(),
	readBuckets.name:     readBuckets.handler(),
	readObject.name:      readObject.handler(),
	readObjects.name:     readObjects.handler(),
	readUpload.name:      readUpload.handler(),
	readUploads.name:     readUploads.handler(),
	readParts.name:       readParts.handler(),
	readUser.name:        readUser.handler(),
	readUsers.name:       readUsers.handler(),
	readKeyRing.name:     readKeyRing.handler(),
	readCensus.name:      readCensus.handler(),
	readCMK.name:         readCMK.handler(),
	readCMKs.name:        readCMKs.handler(),
	readLayout.name:      readLayout.handler(),
	readGarbage.name:     readGarbage.handler(),
	readByMasterKey.name: readByMasterKey.handler(),
	readStats.name:       readStats.handler(),
	readShardsOwner.name: readShardsOwner.handler(),
}
