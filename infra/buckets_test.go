package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"clientele/infra/topology"
)

// TestBucketsAreEncryptedPrivateTLSOnlyAndExpire: each topology bucket is
// one S3 bucket with S3-managed encryption, every public access blocked,
// a policy denying requests not made over TLS, and a lifecycle that
// expires objects after the topology's days.
func TestBucketsAreEncryptedPrivateTLSOnlyAndExpire(t *testing.T) {
	s := clientele(t)
	system := topology.Clientele()
	if got := len(s.ofType("AWS::S3::Bucket")); got != len(system.Buckets) {
		t.Fatalf("%d buckets, topology has %d", got, len(system.Buckets))
	}
	for _, b := range system.Buckets {
		recoverAssertion(t, b.Name+" bucket", func() {
			s.template.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
				"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
					map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}},
				"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true,
					"IgnorePublicAcls": true, "RestrictPublicBuckets": true},
				"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{
					assertions.Match_ObjectLike(&map[string]any{"ExpirationInDays": b.ExpireAfter.Hours() / 24, "Status": "Enabled"})})},
			})
		})
	}
	recoverAssertion(t, "TLS-only bucket policy", func() {
		s.template.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny", "Action": "s3:*",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}})})},
		})
	})
	// Only the functions that write a bucket may touch it.
	for _, f := range system.Functions {
		var s3Actions []string
		for _, st := range s.statements(t, f.Name) {
			for _, a := range asList(st["Action"]) {
				if action, _ := a.(string); strings.HasPrefix(action, "s3:") {
					s3Actions = append(s3Actions, action)
				}
			}
		}
		if (len(s3Actions) > 0) != (len(f.WritesBuckets) > 0) {
			t.Errorf("%s: S3 actions %v, writes buckets %v", f.Name, s3Actions, f.WritesBuckets)
		}
	}
}

func TestValidateChecksBuckets(t *testing.T) {
	t.Parallel()
	sys := topology.Clientele()
	sys.Buckets = append(sys.Buckets, topology.Bucket{Name: "tmp", ExpireAfter: 36 * time.Hour})
	sys.Functions[0].WritesBuckets = []string{"nope"}
	err := sys.Validate()
	if err == nil || !strings.Contains(err.Error(), "bucket tmp: objects must expire after whole days") ||
		!strings.Contains(err.Error(), "unknown bucket nope") {
		t.Errorf("Validate: %v", err)
	}
}
