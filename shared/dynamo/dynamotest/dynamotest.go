// Package dynamotest runs a test package against DynamoDB Local.
package dynamotest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamolocal"
)

// Main is a test package's TestMain body: it starts DynamoDB Local (or uses
// CLIENTELE_TEST_DYNAMODB_ENDPOINT), hands setup a client for it (to keep,
// and to create tables with), runs the tests, stops the server and exits
// with the tests' code. A server that cannot start fails the run, naming
// what is missing; it is never a skip.
func Main(m *testing.M, what string, setup func(ctx context.Context, c *dynamodb.Client) error) {
	ctx := context.Background()
	srv, err := dynamolocal.ForTests(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s tests need DynamoDB Local: %v\n", what, err)
		os.Exit(1)
	}
	if err := setup(ctx, dynamo.NewLocalClient(srv.Endpoint)); err != nil {
		fmt.Fprintf(os.Stderr, "%s tests: setting up DynamoDB Local: %v\n", what, err)
		srv.Close()
		os.Exit(1)
	}
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

// NewTable creates a pk/sk table with a unique name starting with prefix.
// A "members", "points" or "segmentation" table gets the indexes the
// topology gives that table.
func NewTable(ctx context.Context, c *dynamodb.Client, prefix string) (string, error) {
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	return name, dynamo.CreateIndexedTable(ctx, c, name, indexes[prefix])
}

var indexes = map[string][]dynamo.Index{
	"members":      dynamo.MembersIndexes,
	"points":       dynamo.PointsIndexes,
	"segmentation": dynamo.SegmentationIndexes,
}
