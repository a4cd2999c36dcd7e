package membertest

import (
	"testing"
	"time"

	"github.com/coffer-io/coffer/cluster/member"
)

func TestStartAndWait(t *testing.T) {
	meta := member.NodeMeta{Roles: []string{member.RoleStorage}, Zone: "z1"}
	a := Start(t, Config("mt-a", meta))
	b := Start(t, Config("mt-b", meta, a.LocalAddr()))
	for _, p := range []*member.Pool{a, b} {
		got := WaitMembers(t, p, 2, 5*time.Second)
		if got[0].Name != "mt-a" || got[1].Name != "mt-b" || got[1].Meta.Zone != "z1" {
			t.Fatalf("members %+v", got)
		}
	}
	if sn := a.StorageNodes(); len(sn) != 2 {
		t.Fatalf("StorageNodes = %+v", sn)
	}
}
