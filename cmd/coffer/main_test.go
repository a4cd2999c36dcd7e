package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{nil, 2, "", "usage"},
		{[]string{"version"}, 0, "coffer", ""},
		{[]string{"help"}, 0, "usage", ""},
		{[]string{"frobnicate"}, 2, "", "unknown command"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(tt.args, &out, &errb)
		if code != tt.code || !strings.Contains(out.String(), tt.inStdout) || !strings.Contains(errb.String(), tt.inStderr) {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q", tt.args, code, out.String(), errb.String())
		}
	}
}
