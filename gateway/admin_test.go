package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/coffer-io/coffer/gateway"
	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

func TestAdminAPIAuth(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	admin := &gateway.AdminClient{Endpoint: c.URL, AccessKey: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey}
	var st struct {
		ActiveMasterKey uint32
		StorageNodes    []struct{ ID string }
	}
	if err := admin.Do(ctx, "GET", "status", nil, nil, &st); err != nil {
		t.Fatalf("status: %v", err)
	}
	if st.ActiveMasterKey != 1 || len(st.StorageNodes) != 6 {
		t.Fatalf("status: %+v", st)
	}
	var ae *gateway.AdminError
	bad := *admin
	bad.SecretKey = "wrong"
	if err := bad.Do(ctx, "GET", "status", nil, nil, nil); !errors.As(err, &ae) || ae.Code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v", err)
	}
	resp, err := http.Get(c.URL + gateway.AdminPrefix + "status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous admin request: %d", resp.StatusCode)
	}
	if err := admin.Do(ctx, "GET", "nope", nil, nil, nil); !errors.As(err, &ae) || ae.Status != http.StatusNotImplemented {
		t.Fatalf("unknown endpoint: %v", err)
	}
}
