package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/infra/topology"
)

// ensureTables creates every topology table that does not exist yet
// (on-demand, GSIs projecting all attributes, TTL enabled) and adds indexes
// the topology gained since an existing table was created, so data survives
// restarts and topology changes. A table whose keys changed is reported:
// its data directory has to go.
func ensureTables(ctx context.Context, client *dynamodb.Client, tables []PlannedTable, log *slog.Logger) error {
	for _, t := range tables {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
		var missing *types.ResourceNotFoundException
		switch {
		case errors.As(err, &missing):
			if err := createTable(ctx, client, t); err != nil {
				return err
			}
			log.Info("created table", "table", t.Name)
		case err != nil:
			return fmt.Errorf("describing table %s: %w", t.Name, err)
		default:
			if err := reconcileTable(ctx, client, t, out.Table, log); err != nil {
				return err
			}
		}
		if t.TTLAttribute != "" {
			_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName:               aws.String(t.Name),
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)},
			})
			// DynamoDB Local accepts the setting but never deletes expired items.
			if err != nil && !strings.Contains(err.Error(), "already enabled") {
				log.Warn("enabling TTL", "table", t.Name, "err", err)
			}
		}
	}
	return nil
}

func createTable(ctx context.Context, client *dynamodb.Client, t PlannedTable) error {
	defs := attributeDefinitions{}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(t.Name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keySchema(t.PartitionKey, t.SortKey, &defs),
	}
	for _, index := range t.Indexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, globalIndex(index, &defs))
	}
	in.AttributeDefinitions = defs.list
	if _, err := client.CreateTable(ctx, in); err != nil {
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) {
			return nil // created concurrently
		}
		return fmt.Errorf("creating table %s: %w", t.Name, err)
	}
	return nil
}

// reconcileTable adds missing indexes, one per update as DynamoDB requires.
func reconcileTable(ctx context.Context, client *dynamodb.Client, t PlannedTable, have *types.TableDescription, log *slog.Logger) error {
	want := keySchemaNames(t.PartitionKey, t.SortKey)
	if got := describedKeyNames(have.KeySchema); got != want {
		return fmt.Errorf("table %s exists with key %s but the topology says %s: delete the local data directory (or that table) to recreate it", t.Name, got, want)
	}
	existing := map[string]bool{}
	for _, gsi := range have.GlobalSecondaryIndexes {
		existing[aws.ToString(gsi.IndexName)] = true
	}
	for _, index := range t.Indexes {
		if existing[index.Name] {
			continue
		}
		defs := attributeDefinitions{}
		gsi := globalIndex(index, &defs)
		_, err := client.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            aws.String(t.Name),
			AttributeDefinitions: defs.list,
			GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
				IndexName:  gsi.IndexName,
				KeySchema:  gsi.KeySchema,
				Projection: gsi.Projection,
			}}},
		})
		if err != nil {
			return fmt.Errorf("adding index %s to table %s: %w", index.Name, t.Name, err)
		}
		log.Info("added index", "table", t.Name, "index", index.Name)
	}
	return nil
}

// attributeDefinitions collects each key attribute once.
type attributeDefinitions struct {
	list []types.AttributeDefinition
	seen map[string]bool
}

func (d *attributeDefinitions) add(k topology.Key) {
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	if d.seen[k.Name] {
		return
	}
	d.seen[k.Name] = true
	kind := types.ScalarAttributeTypeS
	if k.Type == topology.Number {
		kind = types.ScalarAttributeTypeN
	}
	d.list = append(d.list, types.AttributeDefinition{AttributeName: aws.String(k.Name), AttributeType: kind})
}

func keySchema(pk topology.Key, sk *topology.Key, defs *attributeDefinitions) []types.KeySchemaElement {
	defs.add(pk)
	out := []types.KeySchemaElement{{AttributeName: aws.String(pk.Name), KeyType: types.KeyTypeHash}}
	if sk != nil {
		defs.add(*sk)
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(sk.Name), KeyType: types.KeyTypeRange})
	}
	return out
}

func globalIndex(index topology.Index, defs *attributeDefinitions) types.GlobalSecondaryIndex {
	return types.GlobalSecondaryIndex{
		IndexName:  aws.String(index.Name),
		KeySchema:  keySchema(index.PartitionKey, index.SortKey, defs),
		Projection: projection(index),
	}
}

// projection is the index's projection: ALL, or the keys and Include.
func projection(index topology.Index) *types.Projection {
	switch {
	case index.KeysOnly:
		return &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
	case index.Include != nil:
		return &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: slices.Clone(index.Include)}
	}
	return &types.Projection{ProjectionType: types.ProjectionTypeAll}
}

func keySchemaNames(pk topology.Key, sk *topology.Key) string {
	if sk == nil {
		return pk.Name
	}
	return pk.Name + "," + sk.Name
}

func describedKeyNames(schema []types.KeySchemaElement) string {
	var hash, rangeKey string
	for _, k := range schema {
		if k.KeyType == types.KeyTypeHash {
			hash = aws.ToString(k.AttributeName)
		} else {
			rangeKey = aws.ToString(k.AttributeName)
		}
	}
	if rangeKey == "" {
		return hash
	}
	return hash + "," + rangeKey
}
