package sse

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestIsCorrupt(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{io.EOF, false},
		{fmt.Errorf("sse: package 3: %w", ErrAuth), true},
		{fmt.Errorf("wrapped twice: %w", fmt.Errorf("sse: header: %w", ErrTruncated)), true},
		{ErrTrailing, true},
		{ErrHeader, true},
		{ErrSealed, true},
		{errors.Join(ErrRing, io.EOF), true},
		{ErrVersion, false},
		{ErrRange, false},
		{ErrKMSKeyDisabled, false},
		{ErrSSECKeyMismatch, false},
	}
	for _, tt := range tests {
		if got := IsCorrupt(tt.err); got != tt.want {
			t.Errorf("IsCorrupt(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	// Every failure of a damaged stream is classified as corruption.
	ct := encrypt(t, testKey(1), NoncePrefix{}, pattern(2*P, 1))
	for _, bad := range [][]byte{flip(ct, 0), flip(ct, 8*HeaderBytes+3), ct[:len(ct)-1], ct[:HeaderBytes], append(ct, 1)} {
		for _, m := range modes {
			if _, err := decryptAs(m, bad, testKey(1), 2*P); err != nil && !IsCorrupt(err) {
				t.Errorf("%v: %v is not classified as corruption", m, err)
			}
		}
	}
}
