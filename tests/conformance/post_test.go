package conformance

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"
	"time"

	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// postForm is one POST Object request: fields in order, then the file part.
type postForm struct {
	fields   [][2]string
	filename string
	file     []byte
}

// cosPostSign adds the COS policy signature fields (cos-api.md 5.9):
// SignKey = hex(HMAC-SHA1(secret, q-key-time)), StringToSign = hex(SHA1(policy
// JSON)), q-signature = hex(HMAC-SHA1(SignKey, StringToSign)).
func cosPostSign(ak, sk string, policy any, keyTime string) [][2]string {
	doc, _ := json.Marshal(policy)
	mac := hmac.New(sha1.New, []byte(sk))
	mac.Write([]byte(keyTime))
	signKey := hex.EncodeToString(mac.Sum(nil))
	sum := sha1.Sum(doc)
	mac = hmac.New(sha1.New, []byte(signKey))
	mac.Write([]byte(hex.EncodeToString(sum[:])))
	return [][2]string{
		{"policy", base64.StdEncoding.EncodeToString(doc)},
		{"q-sign-algorithm", "sha1"}, {"q-ak", ak}, {"q-key-time", keyTime},
		{"q-signature", hex.EncodeToString(mac.Sum(nil))},
	}
}

func (e *env) post(t *testing.T, bucket string, f postForm) (*http.Response, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, kv := range f.fields {
		w.WriteField(kv[0], kv[1])
	}
	fw, _ := w.CreateFormFile("file", f.filename)
	fw.Write(f.file)
	w.Close()
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, "http://"+e.c.Host(bucket)+"/", &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	hc := e.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestPostObject covers POST Object, the browser form upload (cos-api.md 5.9).
func TestPostObject(t *testing.T) {
	e := start(t)
	const bucket, open = "post-1250000000", "post-open-1250000000"
	cl := e.mkBucket(t, bucket, nil)
	e.mkBucket(t, open, &cos.BucketPutOptions{XCosACL: "public-read-write"})
	ak, sk := gatewaytest.AccessKey, gatewaytest.SecretKey
	now := time.Now()
	keyTime := fmt.Sprintf("%d;%d", now.Add(-time.Minute).Unix(), now.Add(time.Hour).Unix())
	policy := func(exp time.Time) map[string]any {
		return map[string]any{
			"expiration": exp.UTC().Format("2006-01-02T15:04:05.000Z"),
			"conditions": []any{
				map[string]string{"bucket": bucket},
				[]any{"starts-with", "$key", "post/"},
				map[string]string{"q-sign-algorithm": "sha1"},
				map[string]string{"q-ak": ak},
				[]any{"content-length-range", 1, 1000},
			},
		}
	}
	good := policy(now.Add(time.Hour))
	data := []byte("posted from a browser form")
	form := func(key string, extra ...[2]string) postForm {
		f := postForm{filename: "C:\\Users\\me\\photo.jpg", file: data}
		f.fields = append(f.fields, [2]string{"key", key}, [2]string{"Content-Type", "image/x-test"}, [2]string{"x-cos-meta-from", "form"})
		f.fields = append(f.fields, extra...)
		f.fields = append(f.fields, cosPostSign(ak, sk, good, keyTime)...)
		return f
	}

	t.Run("Created", func(t *testing.T) {
		resp, b := e.post(t, bucket, form("post/created", [2]string{"success_action_status", "201"}))
		if resp.StatusCode != 201 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var pr struct {
			Location, Bucket, Key, ETag string
		}
		if err := xml.Unmarshal(b, &pr); err != nil || pr.Key != "post/created" || pr.Bucket != bucket || pr.ETag != etag(data) || pr.Location == "" {
			t.Errorf("PostResponse %+v (%v): %s", pr, err, b)
		}
		if resp.Header.Get("ETag") != etag(data) || resp.Header.Get("x-cos-hash-crc64ecma") != crc(data) {
			t.Errorf("headers: ETag %q CRC %q", resp.Header.Get("ETag"), resp.Header.Get("x-cos-hash-crc64ecma"))
		}
		g, err := cl.Object.Get(e.ctx, "post/created", nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(g.Body)
		g.Body.Close()
		if !bytes.Equal(got, data) || g.Header.Get("Content-Type") != "image/x-test" || g.Header.Get("x-cos-meta-from") != "form" {
			t.Errorf("stored object: %q type %q meta %q", got, g.Header.Get("Content-Type"), g.Header.Get("x-cos-meta-from"))
		}
	})
	t.Run("DefaultNoContent", func(t *testing.T) {
		resp, b := e.post(t, bucket, form("post/${filename}"))
		if resp.StatusCode != 204 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		// ${filename} is the base name of the file part's name.
		if got := e.get(t, cl, "post/photo.jpg"); !bytes.Equal(got, data) {
			t.Errorf("post/photo.jpg holds %q", got)
		}
	})
	t.Run("Redirect", func(t *testing.T) {
		resp, b := e.post(t, bucket, form("post/redirect", [2]string{"success_action_redirect", "https://example.test/done?x=1"}))
		if resp.StatusCode != 303 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		u, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || u.Host != "example.test" || u.Query().Get("x") != "1" || u.Query().Get("bucket") != bucket ||
			u.Query().Get("key") != "post/redirect" || u.Query().Get("etag") != etag(data) {
			t.Errorf("redirect Location %q", resp.Header.Get("Location"))
		}
	})
	failures := []struct {
		name   string
		f      func() postForm
		status int
		code   string
	}{
		{"KeyOutsidePolicy", func() postForm { return form("elsewhere/x") }, 403, "AccessDenied"},
		{"TooLarge", func() postForm { f := form("post/large"); f.file = make([]byte, 1001); return f }, 400, "EntityTooLarge"},
		{"WrongSecret", func() postForm {
			f := form("post/wrong")
			f.fields = append(f.fields[:3], cosPostSign(ak, "wrong", good, keyTime)...)
			return f
		}, 403, "SignatureDoesNotMatch"},
		{"PolicyExpired", func() postForm {
			f := form("post/expired")
			f.fields = append(f.fields[:3], cosPostSign(ak, sk, policy(now.Add(-time.Minute)), keyTime)...)
			return f
		}, 403, "AccessDenied"},
		{"AnonymousPrivate", func() postForm {
			return postForm{fields: [][2]string{{"key", "post/anon"}}, filename: "a", file: data}
		}, 403, "AccessDenied"},
	}
	for _, fc := range failures {
		t.Run(fc.name, func(t *testing.T) {
			f := fc.f()
			resp, b := e.post(t, bucket, f)
			er := parseError(t, b)
			if resp.StatusCode != fc.status || er.Code != fc.code {
				t.Errorf("status %d code %q, want %d %s: %s", resp.StatusCode, er.Code, fc.status, fc.code, b)
			}
			if _, err := cl.Object.Head(e.ctx, f.fields[0][1], nil); err == nil {
				t.Errorf("refused POST stored %s", f.fields[0][1])
			}
		})
	}
	t.Run("AnonymousPublicReadWrite", func(t *testing.T) {
		resp, b := e.post(t, open, postForm{fields: [][2]string{{"key", "anon"}}, filename: "a", file: data})
		if resp.StatusCode != 204 {
			t.Fatalf("anonymous POST to a public-read-write bucket: %d %s", resp.StatusCode, b)
		}
		if got := e.get(t, e.cos(open), "anon"); !bytes.Equal(got, data) {
			t.Errorf("anon holds %q", got)
		}
	})
}
