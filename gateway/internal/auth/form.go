package auth

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// POST Object form limits: they bound what ReadPostForm buffers before the file.
const (
	// FormFieldsMax bounds the number of fields before the file part.
	FormFieldsMax = 128
	// FormFieldBytesMax bounds one field value (the policy is the largest).
	FormFieldBytesMax = PolicyBytesMax
	// FormBytesMax bounds all field values before the file part together.
	FormBytesMax = 256 << 10
)

// ErrMalformedForm: the multipart/form-data body of a POST Object request is not
// well formed, lacks the file part, or exceeds a form limit.
var ErrMalformedForm = errors.New("auth: malformed POST form")

func errForm(code, msg string) *Error {
	return newErr(ErrMalformedForm, code, http.StatusBadRequest, msg)
}

// ReadPostForm reads the fields of a multipart/form-data POST Object request up
// to its file part, which it returns positioned at its first byte: the caller
// streams the file from it (and may learn its name from file.FileName()).
// Fields after the file part are never read (S3 ignores them). Field names are
// returned as sent; repeated names are rejected. The form is bounded by
// FormFieldsMax, FormFieldBytesMax and FormBytesMax.
func ReadPostForm(r *http.Request) (fields map[string]string, file *multipart.Part, err error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, nil, errForm("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
	}
	if r.Body == nil {
		return nil, nil, errForm("MalformedPOSTRequest", "The body of your POST request is empty.")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	fields = make(map[string]string)
	lower := make(map[string]bool)
	total := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, nil, errForm("InvalidArgument", "POST requires exactly one file upload per request.")
		}
		if err != nil {
			return nil, nil, errForm("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
		}
		name := part.FormName()
		if name == "" {
			return nil, nil, errForm("MalformedPOSTRequest", "A form part lacks a name.")
		}
		if strings.EqualFold(name, "file") {
			return fields, part, nil
		}
		if len(fields) >= FormFieldsMax {
			return nil, nil, errForm("MaxPostPreDataLengthExceeded", "Your POST request has too many fields preceding the upload file.")
		}
		ln := strings.ToLower(name)
		if lower[ln] {
			return nil, nil, errForm("InvalidArgument", "A form field appears more than once.")
		}
		lower[ln] = true
		val, err := io.ReadAll(io.LimitReader(part, FormFieldBytesMax+1))
		if err != nil {
			return nil, nil, errForm("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
		}
		total += len(val)
		if len(val) > FormFieldBytesMax || total > FormBytesMax {
			return nil, nil, errForm("MaxPostPreDataLengthExceeded", "Your POST request fields preceding the upload file were too large.")
		}
		fields[name] = string(val)
	}
}
