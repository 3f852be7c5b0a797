// Package awsenv builds the AWS SDK configuration of a function from its
// environment, as Lambda provides it: AWS_REGION and the execution role's
// credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN. Endpoints may be overridden per service with
// AWS_ENDPOINT_URL_<SERVICE> (or AWS_ENDPOINT_URL), as the SDK's shared
// configuration allows. It replaces the SDK's config package in the Lambda
// binaries, which would pull in SSO, STS, IMDS and INI parsing that a
// function never uses (about 5 MB of binary).
package awsenv

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Config returns the SDK configuration from the environment.
func Config() (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("AWS_REGION is not set")
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" || os.Getenv("AWS_SECRET_ACCESS_KEY") == "" {
		return aws.Config{}, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(provider{}),
	}, nil
}

// Endpoint returns the endpoint override for a service ("DYNAMODB", "SQS"),
// or nil for the default endpoint.
func Endpoint(service string) *string {
	if v := os.Getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(service)); v != "" {
		return aws.String(v)
	}
	if v := os.Getenv("AWS_ENDPOINT_URL"); v != "" {
		return aws.String(v)
	}
	return nil
}

// provider re-reads the environment; the credentials it returns expire after
// refreshEvery, so the SDK's cache picks up credentials the runtime rotates.
type provider struct{}

const refreshEvery = 5 * time.Minute

func (provider) Retrieve(context.Context) (aws.Credentials, error) {
	c := aws.Credentials{
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		Source:          "environment",
		CanExpire:       true,
		Expires:         time.Now().Add(refreshEvery),
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return aws.Credentials{}, errors.New("no credentials in the environment")
	}
	return c, nil
}
