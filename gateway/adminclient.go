package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coffer-io/coffer/gateway/internal/auth"
)

// adminSignValidity is how long a signed admin request is valid.
const adminSignValidity = 5 * time.Minute

// AdminClient calls the admin API of a gateway, signing every request with COS
// q-sign under an admin user's credentials. It is what `coffer admin` uses.
type AdminClient struct {
	// Endpoint is the gateway's base URL, e.g. "https://127.0.0.1:8443".
	Endpoint  string
	AccessKey string
	SecretKey string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
	// Now is the clock for signing; nil means time.Now.
	Now func() time.Time
}

// AdminError is an error answer of the admin API.
type AdminError struct {
	Status  int
	Code    string
	Message string
}

func (e *AdminError) Error() string {
	return fmt.Sprintf("admin API: %d %s: %s", e.Status, e.Code, e.Message)
}

// Do sends method path (relative to AdminPrefix, e.g. "kms/keys") with query,
// in as the JSON body (nil for none), and decodes a JSON answer into out (nil to
// discard it).
func (c *AdminClient) Do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := strings.TrimRight(c.Endpoint, "/") + AdminPrefix + strings.TrimLeft(path, "/")
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if err := auth.SignCOS(req, c.AccessKey, c.SecretKey, now().Add(-time.Minute), adminSignValidity); err != nil {
		return err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err := decodeErrorBody(b, &e); err != nil {
			e.Message = strings.TrimSpace(string(b))
		}
		return &AdminError{Status: resp.StatusCode, Code: e.Code, Message: e.Message}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
