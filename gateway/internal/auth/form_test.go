package auth

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
)

func formRequest(t *testing.T, build func(w *multipart.Writer)) *httptestRequest {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	build(w)
	w.Close()
	r := httptest.NewRequest("POST", "http://examplebucket-1250000000.cos.local/", &b)
	r.Header.Set("Content-Type", w.FormDataContentType())
	return r
}

func TestReadPostForm(t *testing.T) {
	fields := cosPostFields(awsSecret, "1369353600;1369440000", cosPolicy)
	r := formRequest(t, func(w *multipart.Writer) {
		for _, k := range []string{"key", "acl", "q-sign-algorithm", "q-ak", "q-key-time", "q-signature", "policy"} {
			w.WriteField(k, fields[k])
		}
		fw, _ := w.CreateFormFile("file", "photo.jpg")
		fw.Write(bytes.Repeat([]byte("x"), 100))
		w.WriteField("after", "ignored")
	})
	got, file, err := ReadPostForm(r)
	if err != nil {
		t.Fatal(err)
	}
	if file.FileName() != "photo.jpg" || len(got) != 7 || got["policy"] != fields["policy"] {
		t.Fatalf("fields %v, file %q", got, file.FileName())
	}
	data, err := io.ReadAll(file)
	if err != nil || len(data) != 100 {
		t.Fatalf("file %d bytes, %v", len(data), err)
	}
	v := awsVerifier(t, awsNow)
	id, p, err := v.VerifyPost(t.Context(), got)
	if err != nil || id.Method != MethodPostForm {
		t.Fatalf("VerifyPost: %+v %v", id, err)
	}
	got["bucket"] = "examplebucket-1250000000"
	if err := v.CheckPolicy(p, got, int64(len(data))); err != nil {
		t.Fatal(err)
	}

	bad := []struct {
		name  string
		build func(w *multipart.Writer)
		code  string
	}{
		{"no file", func(w *multipart.Writer) { w.WriteField("key", "a") }, "InvalidArgument"},
		{"duplicate", func(w *multipart.Writer) { w.WriteField("key", "a"); w.WriteField("Key", "b") }, "InvalidArgument"},
		{"field too big", func(w *multipart.Writer) { w.WriteField("policy", strings.Repeat("a", FormFieldBytesMax+1)) }, "MaxPostPreDataLengthExceeded"},
		{"fields too big", func(w *multipart.Writer) {
			for i := range 5 {
				w.WriteField("x-amz-meta-"+string(rune('a'+i)), strings.Repeat("a", FormFieldBytesMax))
			}
		}, "MaxPostPreDataLengthExceeded"},
		{"too many fields", func(w *multipart.Writer) {
			for i := range FormFieldsMax + 1 {
				w.WriteField("f"+strings.Repeat("x", i), "v")
			}
		}, "MaxPostPreDataLengthExceeded"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadPostForm(formRequest(t, tt.build))
			wantCode(t, err, tt.code, ErrMalformedForm)
		})
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("not multipart"))
	r.Header.Set("Content-Type", "text/plain")
	_, _, err = ReadPostForm(r)
	wantCode(t, err, "MalformedPOSTRequest", ErrMalformedForm)
	r = httptest.NewRequest("POST", "/", strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nval"))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	_, _, err = ReadPostForm(r)
	wantCode(t, err, "MalformedPOSTRequest", ErrMalformedForm)
}
