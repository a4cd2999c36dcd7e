package wire

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// TestGoldenAWSSDK serves the golden bodies to aws-sdk-go-v2's S3 client and
// checks what its generated deserializers read from them.
func TestGoldenAWSSDK(t *testing.T) {
	var body []byte
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != http.StatusOK {
			WriteError(w, NewError(ErrNoSuchKey, ""), "req-1")
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	client := s3.New(s3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1,
	})
	ctx := context.Background()
	b, k := aws.String("examplebucket-1250000000"), aws.String("exampleobject")
	want := time.Date(2019, 5, 24, 10, 56, 40, 0, time.UTC)
	serve := func(name string) { body = readGolden(t, name) }

	serve("list_objects_v2")
	v2, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b})
	if err != nil || len(v2.Contents) != 2 || aws.ToInt32(v2.KeyCount) != 2 || !aws.ToBool(v2.IsTruncated) ||
		aws.ToString(v2.NextContinuationToken) != "ZGlyL2I=" || aws.ToString(v2.Contents[1].Key) != "dir/b" ||
		aws.ToInt64(v2.Contents[1].Size) != 2<<20 || !aws.ToTime(v2.Contents[0].LastModified).Equal(want) ||
		aws.ToString(v2.Contents[1].ETag) != `"0cc175b9c0f1b6a831c399e269772661-2"` {
		t.Errorf("ListObjectsV2: %v %+v", err, v2)
	}
	serve("list_objects")
	v1, err := client.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b})
	if err != nil || len(v1.Contents) != 1 || aws.ToString(v1.NextMarker) != "dir2/" || len(v1.CommonPrefixes) != 1 ||
		aws.ToString(v1.CommonPrefixes[0].Prefix) != "dir1/" || aws.ToString(v1.Contents[0].ETag) != `"b62e10bcab55a88240bd9c436cffdcf9"` {
		t.Errorf("ListObjects: %v %+v", err, v1)
	}
	serve("list_buckets")
	lb, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(lb.Buckets) != 1 || aws.ToString(lb.Buckets[0].Name) != *b || !aws.ToTime(lb.Buckets[0].CreationDate).Equal(want) {
		t.Errorf("ListBuckets: %v %+v", err, lb)
	}
	serve("initiate")
	ini, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
	if err != nil || !strings.HasPrefix(aws.ToString(ini.UploadId), "1585130821") {
		t.Errorf("CreateMultipartUpload: %v %+v", err, ini)
	}
	serve("complete")
	comp, err := client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: aws.String("u")})
	if err != nil || aws.ToString(comp.ETag) != `"aa259a62513358f69e98e72e59856d88-3"` {
		t.Errorf("CompleteMultipartUpload: %v %+v", err, comp)
	}
	serve("list_parts")
	lp, err := client.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: k, UploadId: aws.String("upload-1")})
	if err != nil || len(lp.Parts) != 1 || aws.ToInt32(lp.Parts[0].PartNumber) != 1 || aws.ToInt64(lp.Parts[0].Size) != 1<<20 ||
		aws.ToString(lp.NextPartNumberMarker) != "1" || aws.ToInt32(lp.MaxParts) != 1000 {
		t.Errorf("ListParts: %v %+v", err, lp)
	}
	serve("list_uploads")
	lu, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != "upload-1" || !aws.ToTime(lu.Uploads[0].Initiated).Equal(want) {
		t.Errorf("ListMultipartUploads: %v %+v", err, lu)
	}
	serve("copy")
	cp, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: k, CopySource: aws.String("src/k")})
	if err != nil || cp.CopyObjectResult == nil || aws.ToString(cp.CopyObjectResult.ETag) != `"ee8de918d05640145b18f70f4c3aa602"` {
		t.Errorf("CopyObject: %v %+v", err, cp)
	}
	serve("copy_part")
	cpp, err := client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: b, Key: k, CopySource: aws.String("src/k"), PartNumber: aws.Int32(1), UploadId: aws.String("u")})
	if err != nil || cpp.CopyPartResult == nil || !aws.ToTime(cpp.CopyPartResult.LastModified).Equal(want) {
		t.Errorf("UploadPartCopy: %v %+v", err, cpp)
	}
	serve("delete_result")
	del, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b,
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("a")}}}})
	if err != nil || len(del.Deleted) != 2 || len(del.Errors) != 1 || aws.ToString(del.Errors[0].Code) != "AccessDenied" {
		t.Errorf("DeleteObjects: %v %+v", err, del)
	}
	serve("acl")
	acl, err := client.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	if err != nil || len(acl.Grants) != 2 || string(acl.Grants[1].Grantee.Type) != "Group" || aws.ToString(acl.Grants[1].Grantee.URI) != GroupAllUsers {
		t.Errorf("GetBucketAcl: %v %+v", err, acl)
	}
	serve("encryption")
	enc, err := client.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	if err != nil || enc.ServerSideEncryptionConfiguration == nil || len(enc.ServerSideEncryptionConfiguration.Rules) != 1 ||
		aws.ToString(enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID) == "" {
		t.Errorf("GetBucketEncryption: %v %+v", err, enc)
	}
	serve("location")
	loc, err := client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b})
	if err != nil || string(loc.LocationConstraint) != "ap-guangzhou" {
		t.Errorf("GetBucketLocation: %v %+v", err, loc)
	}
	status = http.StatusNotFound
	_, err = client.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: b, Key: k})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchKey" {
		t.Errorf("error body: %v", err)
	}
}
