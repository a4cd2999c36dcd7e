package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProbe(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/-/healthz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer ok.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	openAddr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	defer ln.Close()

	tests := []struct {
		args []string
		want error
	}{
		{[]string{ok.URL + "/-/healthz"}, nil},
		{[]string{ok.URL + "/-/ready"}, errProbe},
		{[]string{tlsSrv.URL + "/"}, nil},
		{[]string{"tcp://" + openAddr}, nil},
		{[]string{"tcp://" + closedAddr}, errProbe},
		{[]string{"ftp://" + openAddr}, errUsage},
		{[]string{"not a url"}, errUsage},
		{nil, errUsage},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := probeMain(context.Background(), tt.args, &out)
		if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("probe %q: %v, want %v", tt.args, err, tt.want)
		}
	}
}
