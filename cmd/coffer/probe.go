package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// probeTimeout bounds one `coffer probe`.
const probeTimeout = 3 * time.Second

// errProbe is a failed health probe.
var errProbe = errors.New("probe failed")

// probeMain is `coffer probe URL`: a health check for images without a shell or
// curl (the FROM scratch image). http(s)://host:port/path succeeds on a 2xx answer
// (certificates are not checked: the probe asks "does it answer", on loopback);
// tcp://host:port succeeds when a connection opens. Exit status 0 on success.
func probeMain(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: usage: coffer probe http://host:port/path | tcp://host:port", errUsage)
	}
	u, err := url.Parse(args[0])
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: %q is not a probe URL", errUsage, args[0])
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	switch u.Scheme {
	case "tcp":
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return fmt.Errorf("%w: %v", errProbe, err)
		}
		c.Close()
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		tr := &http.Transport{TLSClientConfig: probeTLS(), DisableKeepAlives: true}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return fmt.Errorf("%w: %v", errProbe, err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("%w: %s answered %s", errProbe, u.Redacted(), resp.Status)
		}
	default:
		return fmt.Errorf("%w: probe scheme %q (want http, https or tcp)", errUsage, u.Scheme)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
