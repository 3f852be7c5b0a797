package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"clientele/infra/topology"
)

const reasonExportBucketAccessLogs = "The bucket holds short-lived exports that only the writing function's role puts and " +
	"reads (staff download them through presigned links it signs); objects expire after days. API calls on it are in " +
	"CloudTrail; server access logs would need a log bucket of their own for objects that are gone within the week."

const reasonBucketObjectsWildcard = "Object-level actions (put, get, abort a multipart upload) on the objects of the " +
	"function's own bucket: object keys are generated per export, so they cannot be listed in advance."

// addBucket creates one S3 bucket: S3-managed encryption, TLS only, every
// kind of public access blocked, ACLs disabled, objects expiring after the
// topology's days and unfinished multipart uploads aborted after a day;
// retained in production like the tables.
func (s *clienteleStack) addBucket(b topology.Bucket) {
	id := pascal(b.Name)
	bucket := awss3.NewBucket(s.stack, jsii.String(id+"Bucket"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(false),
		RemovalPolicy:     s.keep,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Expiration:                          awscdk.Duration_Days(jsii.Number(b.ExpireAfter.Hours() / 24)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
	})
	suppress(bucket, "AwsSolutions-S1", reasonExportBucketAccessLogs, nil)
	s.buckets[b.Name] = bucket
	output(s.stack, id+"BucketName", bucket.BucketName(), fmt.Sprintf("Name of the %s bucket", b.Name))
}

// grantBuckets lets a function put and read back objects of the buckets
// it writes (and abort its multipart uploads), nothing else.
func (s *clienteleStack) grantBuckets(f topology.Function, role awsiam.Role) {
	for _, name := range f.WritesBuckets {
		bucket := s.buckets[name]
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"),
			Resources: &[]*string{bucket.ArnForObjects(jsii.String("*"))},
		}))
		cfn := bucket.Node().DefaultChild().(awscdk.CfnElement)
		suppress(role, "AwsSolutions-IAM5", reasonBucketObjectsWildcard,
			[]interface{}{"Resource::<" + *s.stack.GetLogicalId(cfn) + ".Arn>/*"})
	}
}
