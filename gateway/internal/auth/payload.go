package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

type payloadMode uint8

const (
	modeDigest                payloadMode = iota // hex SHA-256 of the body
	modeUnsigned                                 // UNSIGNED-PAYLOAD
	modeStreamSigned                             // signed aws-chunked
	modeStreamSignedTrailer                      // signed aws-chunked + signed trailer
	modeStreamUnsignedTrailer                    // unsigned aws-chunked + trailer
)

func payloadModeOf(s string) (payloadMode, error) {
	switch s {
	case payloadUnsign:
		return modeUnsigned, nil
	case payloadStreamSigned:
		return modeStreamSigned, nil
	case payloadStreamSignedTrailer:
		return modeStreamSignedTrailer, nil
	case payloadStreamUnsignedTrailer:
		return modeStreamUnsignedTrailer, nil
	case "":
		return 0, newErr(ErrMalformed, "InvalidRequest", http.StatusBadRequest,
			"Missing required header for this request: x-amz-content-sha256")
	}
	if len(s) == 2*sha256.Size {
		if _, err := hex.DecodeString(s); err == nil {
			return modeDigest, nil
		}
	}
	return 0, newErr(ErrMalformed, "InvalidArgument", http.StatusBadRequest,
		"x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a supported STREAMING-* value, or a valid SHA-256 hex digest.")
}

// v4Body returns the reader the gateway must use for a SigV4 request's payload
// and the declared decoded length.
func (v *Verifier) v4Body(r *http.Request, mode payloadMode, payload string, key []byte, amzDate string, a *v4Auth) (io.Reader, int64, error) {
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	switch mode {
	case modeDigest, modeUnsigned:
		alg, want, err := headerChecksum(r)
		if err != nil {
			return nil, 0, err
		}
		vr := &verifyReader{src: body}
		if mode == modeDigest {
			vr.sha = sha256.New()
			hex.Decode(vr.wantSHA[:], []byte(payload)) // validated by payloadModeOf
		}
		if alg != nil {
			vr.alg, vr.sum, vr.want = alg, alg.new(), want
		}
		if vr.sha == nil && vr.sum == nil {
			return body, r.ContentLength, nil
		}
		return vr, r.ContentLength, nil
	}
	dl := r.Header.Get("X-Amz-Decoded-Content-Length")
	n, err := strconv.ParseInt(dl, 10, 64)
	if err != nil || n < 0 || (dl != "" && dl[0] == '+') {
		return nil, 0, newErr(ErrMalformed, "MissingContentLength", http.StatusLengthRequired,
			"You must provide a valid x-amz-decoded-content-length header with an aws-chunked payload.")
	}
	c := &chunkedReader{
		cfg:         &v.cfg,
		signed:      mode != modeStreamUnsignedTrailer,
		decodedWant: n,
	}
	if mode == modeStreamSignedTrailer || mode == modeStreamUnsignedTrailer {
		names := r.Header.Values("X-Amz-Trailer")
		var alg *checksumAlg
		if len(names) == 1 {
			alg = checksumByName(strings.TrimSpace(names[0]))
		}
		if alg == nil {
			return nil, 0, newErr(ErrMalformed, "InvalidRequest", http.StatusBadRequest,
				"x-amz-trailer must name exactly one supported x-amz-checksum-* trailer.")
		}
		c.alg, c.sum = alg, alg.new()
		c.trailer = true
		c.trailerSigned = mode == modeStreamSignedTrailer
	} else {
		alg, want, err := headerChecksum(r)
		if err != nil {
			return nil, 0, err
		}
		if alg != nil {
			c.alg, c.sum, c.want = alg, alg.new(), want
		}
	}
	if c.signed {
		c.mac = newChunkMAC(key, amzDate, a.scope, a.signature[:])
	}
	c.init(body)
	return c, n, nil
}

// verifyReader passes the body through, hashing it, and at EOF fails with
// XAmzContentSHA256Mismatch or BadDigest if the body is not what was declared.
type verifyReader struct {
	src     io.Reader
	sha     hash.Hash // nil: no x-amz-content-sha256 digest to check
	wantSHA [sha256.Size]byte
	alg     *checksumAlg // nil: no x-amz-checksum-* header
	sum     hash.Hash
	want    []byte
	err     error
}

func (v *verifyReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.src.Read(p)
	if n > 0 {
		if v.sha != nil {
			v.sha.Write(p[:n])
		}
		if v.sum != nil {
			v.sum.Write(p[:n])
		}
	}
	if err == io.EOF {
		var tmp [sha256.Size]byte
		if v.sha != nil && !bytes.Equal(v.sha.Sum(tmp[:0]), v.wantSHA[:]) {
			err = newErr(ErrContentSHA256Mismatch, "XAmzContentSHA256Mismatch", http.StatusBadRequest,
				"The provided 'x-amz-content-sha256' header does not match what was computed.")
		} else if v.sum != nil && !bytes.Equal(v.sum.Sum(tmp[:0]), v.want) {
			err = errBadDigest(v.alg)
		}
	}
	if err != nil {
		v.err = err
	}
	return n, err
}
