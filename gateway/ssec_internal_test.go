package gateway

import (
	"errors"
	"strings"
	"testing"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/internal/wire"
	"github.com/coffer-io/coffer/sse"
)

func TestCheckCustomer(t *testing.T) {
	var k1, k2 sse.Key
	k1[0], k2[0] = 1, 2
	salt := make([]byte, sse.SaltBytes)
	mac, err := sse.CustomerKeyMAC(k1, salt)
	if err != nil {
		t.Fatal(err)
	}
	ssec := meta.SSE{Mode: meta.ModeSSEC, CustomerSalt: salt, CustomerHMAC: mac}
	missing, notApplicable := errors.New("missing"), errors.New("not applicable")
	for _, tc := range []struct {
		name string
		rec  meta.SSE
		ck   *customerKey
		want error
	}{
		{"sse-c with its key", ssec, &customerKey{key: k1}, nil},
		{"sse-c with another key", ssec, &customerKey{key: k2}, sse.ErrSSECKeyMismatch},
		{"sse-c without a key", ssec, nil, missing},
		{"sse-c with a short salt", meta.SSE{Mode: meta.ModeSSEC, CustomerSalt: salt[:4], CustomerHMAC: mac}, &customerKey{key: k1}, sse.ErrSalt},
		{"none without a key", meta.SSE{Mode: meta.ModeNone}, nil, nil},
		{"none with a key", meta.SSE{Mode: meta.ModeNone}, &customerKey{key: k1}, notApplicable},
		{"sse-cos with a key", meta.SSE{Mode: meta.ModeSSECOS}, &customerKey{key: k1}, notApplicable},
	} {
		err := checkCustomer(tc.rec, tc.ck, missing, notApplicable)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestSSECErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   wire.Code
		status int
	}{
		{errSSECInsecure, wire.ErrInvalidRequest, 400},
		{errSSECBlocked, wire.ErrAccessDenied, 403},
		{errSSECRequired, wire.ErrSSECDecryptHeaderInvalid, 400},
		{errSSECNotApplicable, wire.ErrInvalidRequest, 400},
		{errSSECCopyRequired, wire.ErrInvalidRequest, 400},
		{errSSECCopyNotSSEC, wire.ErrInvalidRequest, 400},
		{errSSECPartRequired, wire.ErrInvalidRequest, 400},
		{errSSECPartNotSSEC, wire.ErrInvalidRequest, 400},
		{sse.ErrSSECKey, wire.ErrInvalidArgument, 400},
		{sse.ErrSSECKeyMD5, wire.ErrInvalidArgument, 400},
		{sse.ErrSSECAlgorithm, wire.ErrInvalidArgument, 400},
		{sse.ErrSSECIncomplete, wire.ErrInvalidArgument, 400},
		{sse.ErrSSECKeyMismatch, wire.ErrAccessDenied, 403},
		{sse.ErrKMSKeyNotFound, wire.ErrKmsKeyNotExist, 400},
		{sse.ErrKMSKeyDisabled, wire.ErrKmsKeyDisabled, 400},
	} {
		e := toWire(tc.err)
		if e.Code != tc.code || e.Status != tc.status {
			t.Errorf("%v: %s %d, want %s %d", tc.err, e.Code, e.Status, tc.code, tc.status)
		}
		// The client sees a message of its own, not the internal error text.
		if e.Message == "" || strings.Contains(e.Message, "gateway:") || strings.Contains(e.Message, "sse:") {
			t.Errorf("%v: client message %q", tc.err, e.Message)
		}
	}
}
