package main

import (
	"bytes"
	"context"
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
		{[]string{"dev", "-h"}, 0, "", "-https-addr"},
		{[]string{"dev", "--bogus"}, 1, "", "flag provided but not defined"},
		{[]string{"dev", "extra"}, 1, "", `unexpected argument "extra"`},
		{[]string{"dev", "--log-format", "xml", "--domain", ""}, 1, "", "log format"},
		{[]string{"server"}, 1, "", "roles"},
		{[]string{"server", "-h"}, 0, "", "-meta-bootstrap"},
		{[]string{"admin"}, 2, "", "init-cluster"},
		{[]string{"admin", "init-cluster"}, 1, "", "out"},
		{[]string{"admin", "frob"}, 2, "", "unknown command"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(context.Background(), tt.args, noEnv, &out, &errb)
		if code != tt.code || !strings.Contains(out.String(), tt.inStdout) || !strings.Contains(errb.String(), tt.inStderr) {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q", tt.args, code, out.String(), errb.String())
		}
	}
}
