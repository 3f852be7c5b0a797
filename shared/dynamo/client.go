// Package dynamo implements Clientele's stores on DynamoDB. Storage records
// are private structs with dynamodbav tags; domain types never see them.
// AWS errors are translated into fault kinds here and nowhere else.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"clientele/shared/awsenv"
	"clientele/shared/fault"
)

// Key attribute names shared by every Clientele table.
const (
	PartitionKey = "pk"
	SortKey      = "sk"
	// TTLAttribute holds an epoch-seconds expiry. DynamoDB deletes expired
	// items eventually (DynamoDB Local never does), so code checks it too.
	TTLAttribute = "expires_at"
)

// NewClient builds a client from the function's environment; the endpoint
// may be overridden with AWS_ENDPOINT_URL_DYNAMODB.
func NewClient() (*dynamodb.Client, error) {
	cfg, err := awsenv.Config()
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = awsenv.Endpoint("DYNAMODB") }), nil
}

// NewLocalClient builds a client for a DynamoDB Local endpoint with dummy
// static credentials (tests and tools).
func NewLocalClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// CreateTable creates a pk/sk table with TTL (tests and tools; the CDK stack
// and the local runner create tables from the topology). An existing table is
// left alone.
func CreateTable(ctx context.Context, c *dynamodb.Client, name string) error {
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(PartitionKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(SortKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(SortKey), KeyType: types.KeyTypeRange},
		},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return err
	}
	return nil
}

// translate maps an AWS error to a fault kind. names, when given, names the
// transaction items in order so a cancellation can say which one failed.
func translate(err error, op string) error {
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	var tce *types.TransactionCanceledException
	var thr *types.ProvisionedThroughputExceededException
	var rle *types.RequestLimitExceeded
	var tip *types.TransactionInProgressException
	var rnf *types.ResourceNotFoundException
	var api smithy.APIError
	switch {
	case errors.As(err, &ccf):
		return fault.Wrap(fault.Conflict, err, "the record changed meanwhile")
	case errors.As(err, &tce):
		return fault.Wrap(fault.Conflict, err, "the transaction was cancelled")
	case errors.As(err, &thr), errors.As(err, &rle), errors.As(err, &tip):
		return fault.Wrap(fault.Unavailable, err, "the database is busy; retry")
	case errors.As(err, &rnf):
		return fault.Wrap(fault.Internal, err, "%s: table missing", op)
	case errors.As(err, &api) && (api.ErrorCode() == "ThrottlingException" || api.ErrorCode() == "TransactionConflictException"):
		return fault.Wrap(fault.Unavailable, err, "the database is busy; retry")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fault.Wrap(fault.Unavailable, err, "%s timed out", op)
	}
	return fault.Wrap(fault.Internal, err, "%s", op)
}

// cancellation returns the reason codes of a cancelled transaction, one per
// item ("None" for items that were fine), or nil when err is something else.
func cancellation(err error) []string {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil
	}
	out := make([]string, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		out[i] = aws.ToString(r.Code)
	}
	if len(out) == 0 {
		// Some endpoints only list the reasons in the message:
		// "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]".
		msg := tce.ErrorMessage()
		if i := strings.LastIndex(msg, "["); i >= 0 {
			for _, p := range strings.Split(strings.Trim(msg[i:], "[]"), ",") {
				out = append(out, strings.TrimSpace(p))
			}
		}
	}
	return out
}

// isTransactionConflict reports a cancellation caused by a concurrent
// transaction on the same items (retryable), not by a condition.
func isTransactionConflict(reasons []string) bool {
	for _, r := range reasons {
		if r == "TransactionConflict" {
			return true
		}
	}
	return false
}

// backoff sleeps for a jittered, exponentially growing delay before retry
// attempt n (0-based), or returns the context's error.
// maxRaceRetries is how often a read-modify-write that lost an optimistic
// race on an item's version is retried before the caller gets a conflict.
// With the jittered backoff below it spans several seconds, enough for a
// few dozen writers on one hot item.
const maxRaceRetries = 12

func backoff(ctx context.Context, n int) error {
	base := 10 * time.Millisecond << min(n, 6)
	d := base/2 + time.Duration(rand.Int64N(int64(base)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// queryPages runs a query over every page of its result, handing each
// page's items to fn in order; a failed page is translated with what.
func queryPages(ctx context.Context, c dynamodb.QueryAPIClient, in *dynamodb.QueryInput, what string, fn func([]map[string]types.AttributeValue) error) error {
	p := dynamodb.NewQueryPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return translate(err, what)
		}
		if err := fn(page.Items); err != nil {
			return err
		}
	}
	return nil
}
