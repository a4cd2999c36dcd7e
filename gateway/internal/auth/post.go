package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// POST Object (browser form upload) limits.
const (
	// PolicyBytesMax bounds the base64 policy field.
	PolicyBytesMax = 64 << 10
	// PolicyConditionsMax bounds the number of policy conditions.
	PolicyConditionsMax = 256
)

// Condition is one POST policy condition. Field is the lower-cased form field
// name without the leading '$'.
type Condition struct {
	Op    string // "eq", "starts-with" or "content-length-range"
	Field string // empty for content-length-range
	Value string
	Min   int64 // content-length-range bounds, inclusive
	Max   int64
}

// Policy is a decoded POST policy document
// ({"expiration": "...", "conditions": [...]}).
type Policy struct {
	Expiration time.Time
	Conditions []Condition
	// s3 is set for policies verified in the S3 dialect, where every form field
	// must be covered by a condition.
	s3 bool
}

func errPolicyMalformed(msg string) *Error {
	return newErr(ErrMalformed, "InvalidPolicyDocument", http.StatusBadRequest, "Invalid Policy: "+msg)
}

// ParsePolicy decodes a policy document (the JSON, already base64-decoded).
func ParsePolicy(doc []byte) (*Policy, error) {
	var raw struct {
		Expiration *string            `json:"expiration"`
		Conditions *[]json.RawMessage `json:"conditions"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, errPolicyMalformed("the policy is not a valid JSON object.")
	}
	if dec.More() {
		return nil, errPolicyMalformed("trailing data after the policy document.")
	}
	if raw.Expiration == nil {
		return nil, errPolicyMalformed("missing expiration.")
	}
	exp, err := time.Parse(time.RFC3339Nano, *raw.Expiration)
	if err != nil {
		return nil, errPolicyMalformed("expiration is not an ISO 8601 date.")
	}
	if raw.Conditions == nil {
		return nil, errPolicyMalformed("missing conditions.")
	}
	if len(*raw.Conditions) > PolicyConditionsMax {
		return nil, errPolicyMalformed("too many conditions.")
	}
	p := &Policy{Expiration: exp}
	for _, c := range *raw.Conditions {
		conds, err := parseCondition(c)
		if err != nil {
			return nil, err
		}
		p.Conditions = append(p.Conditions, conds...)
		if len(p.Conditions) > PolicyConditionsMax {
			return nil, errPolicyMalformed("too many conditions.")
		}
	}
	return p, nil
}

func parseCondition(c json.RawMessage) ([]Condition, error) {
	c = bytes.TrimSpace(c)
	if len(c) > 0 && c[0] == '{' {
		var m map[string]string
		if err := json.Unmarshal(c, &m); err != nil {
			return nil, errPolicyMalformed("a condition object must map field names to strings.")
		}
		var out []Condition
		for k, v := range m {
			out = append(out, Condition{Op: "eq", Field: strings.ToLower(strings.TrimPrefix(k, "$")), Value: v})
		}
		// Map order is random; keep the result deterministic.
		sortConditions(out)
		return out, nil
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(c, &arr); err != nil || len(arr) != 3 {
		return nil, errPolicyMalformed("a condition must be an object or a three-element array.")
	}
	var op string
	if err := json.Unmarshal(arr[0], &op); err != nil {
		return nil, errPolicyMalformed("a condition's operator must be a string.")
	}
	switch op = strings.ToLower(op); op {
	case "eq", "starts-with":
		var field, value string
		if json.Unmarshal(arr[1], &field) != nil || json.Unmarshal(arr[2], &value) != nil || !strings.HasPrefix(field, "$") {
			return nil, errPolicyMalformed("a " + op + " condition needs a \"$field\" and a string value.")
		}
		return []Condition{{Op: op, Field: strings.ToLower(field[1:]), Value: value}}, nil
	case "content-length-range":
		lo, ok1 := policyInt(arr[1])
		hi, ok2 := policyInt(arr[2])
		if !ok1 || !ok2 || lo < 0 || hi < lo {
			return nil, errPolicyMalformed("content-length-range needs two integers 0 <= min <= max.")
		}
		return []Condition{{Op: op, Min: lo, Max: hi}}, nil
	}
	return nil, errPolicyMalformed("unknown condition operator.")
}

func sortConditions(c []Condition) {
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j].Field < c[j-1].Field; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

// policyInt accepts a JSON integer or a string holding one.
func policyInt(b json.RawMessage) (int64, bool) {
	var s string
	if json.Unmarshal(b, &s) != nil {
		var n json.Number
		if json.Unmarshal(b, &n) != nil {
			return 0, false
		}
		s = n.String()
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// formFields is the case-insensitive view of the submitted form fields.
type formFields map[string]string

func lowerFields(fields map[string]string) (formFields, error) {
	out := make(formFields, len(fields))
	for k, v := range fields {
		lk := strings.ToLower(k)
		if _, dup := out[lk]; dup {
			return nil, newErr(ErrMalformed, "InvalidArgument", http.StatusBadRequest, "A form field appears more than once.")
		}
		out[lk] = v
	}
	return out, nil
}

// VerifyPost authenticates a POST Object form. fields holds every form field
// that preceded the file part (names as sent, matched case-insensitively; the
// value of each); the caller has already substituted ${filename} in key. It
// accepts the COS dialect (q-sign-algorithm, q-ak, q-key-time, q-signature,
// policy) and the S3 SigV4 dialect (x-amz-algorithm, x-amz-credential,
// x-amz-date, x-amz-signature, policy). A form with none of these is anonymous
// and returns a nil Policy. The returned Policy has been checked for expiry;
// the caller runs CheckPolicy once the file size is known.
func (v *Verifier) VerifyPost(ctx context.Context, fields map[string]string) (Identity, *Policy, error) {
	f, err := lowerFields(fields)
	if err != nil {
		return Identity{}, nil, err
	}
	_, cos := f["q-signature"]
	_, cosAK := f["q-ak"]
	_, s3 := f["x-amz-signature"]
	_, s3Alg := f["x-amz-algorithm"]
	_, v2 := f["awsaccesskeyid"]
	_, hasPolicy := f["policy"]
	switch {
	case (cos || cosAK) && (s3 || s3Alg):
		return Identity{}, nil, newErr(ErrMalformed, "InvalidArgument", http.StatusBadRequest, "Only one auth mechanism allowed.")
	case cos || cosAK:
		return v.verifyPostCOS(ctx, f)
	case s3 || s3Alg:
		return v.verifyPostS3(ctx, f)
	case v2 || f["signature"] != "":
		return Identity{}, nil, errUnsupportedScheme()
	case hasPolicy:
		return Identity{}, nil, newErr(ErrMalformed, "AccessDenied", http.StatusForbidden, "A policy was given without a signature.")
	}
	return Identity{Anonymous: true, Method: MethodAnonymous}, nil, nil
}

func (v *Verifier) decodePolicy(f formFields) ([]byte, *Policy, error) {
	b64, ok := f["policy"]
	if !ok || b64 == "" {
		return nil, nil, newErr(ErrMalformed, "InvalidArgument", http.StatusBadRequest, "Signed POST requests need a policy field.")
	}
	if len(b64) > PolicyBytesMax {
		return nil, nil, errPolicyMalformed("the policy is too large.")
	}
	doc, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, nil, errPolicyMalformed("the policy is not valid base64.")
	}
	p, err := ParsePolicy(doc)
	if err != nil {
		return nil, nil, err
	}
	if v.cfg.Now().After(p.Expiration) {
		return nil, nil, newErr(ErrExpired, "AccessDenied", http.StatusForbidden, "Invalid according to Policy: Policy expired.")
	}
	return doc, p, nil
}

// verifyPostCOS: q-signature = HMAC-SHA1(SignKey, hex(SHA1(policy JSON))),
// SignKey = hex(HMAC-SHA1(secret, q-key-time)) (docs/cos-api.md 5.9).
func (v *Verifier) verifyPostCOS(ctx context.Context, f formFields) (Identity, *Policy, error) {
	if alg := f["q-sign-algorithm"]; !strings.EqualFold(alg, "sha1") {
		return Identity{}, nil, newErr(ErrUnsupported, "InvalidArgument", http.StatusBadRequest, "q-sign-algorithm must be sha1.")
	}
	ak, keyTime, sigHex := f["q-ak"], f["q-key-time"], f["q-signature"]
	var sig [sha1.Size]byte
	if ak == "" || len(sigHex) != 2*sha1.Size {
		return Identity{}, nil, errMalformedCOS("q-ak and q-signature are required.")
	}
	if _, err := hex.Decode(sig[:], []byte(sigHex)); err != nil {
		return Identity{}, nil, errMalformedCOS("q-signature is malformed.")
	}
	start, end, ok := parseCOSTime(keyTime)
	if !ok {
		return Identity{}, nil, errMalformedCOS("q-key-time is malformed.")
	}
	doc, p, err := v.decodePolicy(f)
	if err != nil {
		return Identity{}, nil, err
	}
	now := v.cfg.Now().Unix()
	if start > now+int64(v.cfg.ClockSkewMax/time.Second) {
		return Identity{}, nil, errSkewed()
	}
	if now > end {
		return Identity{}, nil, errExpired()
	}
	secret, err := v.lookup(ctx, ak)
	if err != nil {
		return Identity{}, nil, err
	}
	if !hmac.Equal(cosPostSignature(cosSignKey(secret, keyTime), doc), sig[:]) {
		return Identity{}, nil, errSignature()
	}
	return Identity{AccessKeyID: ak, Method: MethodPostForm}, p, nil
}

func cosPostSignature(signKey, policyJSON []byte) []byte {
	h := sha1.Sum(policyJSON)
	m := hmac.New(sha1.New, signKey)
	m.Write(hex.AppendEncode(nil, h[:]))
	return m.Sum(nil)
}

// verifyPostS3: x-amz-signature = hex(HMAC-SHA256(signingKey, base64 policy)).
func (v *Verifier) verifyPostS3(ctx context.Context, f formFields) (Identity, *Policy, error) {
	if f["x-amz-algorithm"] != v4Algorithm {
		return Identity{}, nil, newErr(ErrUnsupported, "InvalidArgument", http.StatusBadRequest, "x-amz-algorithm must be AWS4-HMAC-SHA256.")
	}
	malformed := func(msg string) *Error { return newErr(ErrMalformed, "InvalidArgument", http.StatusBadRequest, msg) }
	a, err := newV4Auth(f["x-amz-credential"], "host", f["x-amz-signature"], malformed)
	if err != nil {
		return Identity{}, nil, err
	}
	if d := f["x-amz-date"]; len(d) < 8 || d[:8] != a.date {
		return Identity{}, nil, malformed("x-amz-date must be present and match the credential date.")
	}
	if _, err := time.Parse(v4DateLayout, f["x-amz-date"]); err != nil {
		return Identity{}, nil, malformed("x-amz-date is malformed.")
	}
	if v.cfg.Region != "" && a.region != v.cfg.Region {
		return Identity{}, nil, malformed("The credential names the wrong region.")
	}
	_, p, err := v.decodePolicy(f)
	if err != nil {
		return Identity{}, nil, err
	}
	p.s3 = true
	secret, err := v.lookup(ctx, a.ak)
	if err != nil {
		return Identity{}, nil, err
	}
	m := hmac.New(sha256Factory, v4SigningKey(secret, a.date, a.region))
	m.Write([]byte(f["policy"]))
	if !hmac.Equal(m.Sum(nil), a.signature[:]) {
		return Identity{}, nil, errSignature()
	}
	return Identity{AccessKeyID: a.ak, Method: MethodPostForm}, p, nil
}

// postExempt are fields a policy never needs to cover (S3: "except
// x-amz-signature, file, policy, and field names that have an x-ignore- prefix").
func postExempt(name string) bool {
	switch name {
	case "x-amz-signature", "file", "policy", "q-signature":
		return true
	}
	return strings.HasPrefix(name, "x-ignore-")
}

// CheckPolicy checks p against the submitted form fields (as passed to
// VerifyPost; the caller adds "bucket" with the target bucket name) and the
// uploaded file's size. It reports the first failing condition:
// AccessDenied "Invalid according to Policy: ..." (ErrPolicy or ErrExpired),
// EntityTooSmall or EntityTooLarge.
func (v *Verifier) CheckPolicy(p *Policy, fields map[string]string, fileSize int64) error {
	f, err := lowerFields(fields)
	if err != nil {
		return err
	}
	if v.cfg.Now().After(p.Expiration) {
		return newErr(ErrExpired, "AccessDenied", http.StatusForbidden, "Invalid according to Policy: Policy expired.")
	}
	covered := map[string]bool{}
	for _, c := range p.Conditions {
		if c.Op == "content-length-range" {
			if fileSize < c.Min {
				return newErr(ErrEntityTooSmall, "EntityTooSmall", http.StatusBadRequest,
					"Your proposed upload is smaller than the minimum allowed size.")
			}
			if fileSize > c.Max {
				return newErr(ErrEntityTooLarge, "EntityTooLarge", http.StatusBadRequest,
					"Your proposed upload exceeds the maximum allowed size.")
			}
			continue
		}
		covered[c.Field] = true
		val, ok := f[c.Field]
		if ok && (c.Op == "eq" && val == c.Value || c.Op == "starts-with" && strings.HasPrefix(val, c.Value)) {
			continue
		}
		return newErr(ErrPolicy, "AccessDenied", http.StatusForbidden,
			"Invalid according to Policy: Policy Condition failed: [\""+c.Op+"\", \"$"+sanitize(c.Field)+"\"]")
	}
	if p.s3 {
		for name := range f {
			if !covered[name] && !postExempt(name) && name != "bucket" {
				return newErr(ErrPolicy, "AccessDenied", http.StatusForbidden,
					"Invalid according to Policy: Extra input fields: "+sanitize(name))
			}
		}
	}
	return nil
}
