package dynamo

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Meter counts the capacity units DynamoDB charges for a client's calls,
// as DynamoDB reports them (ReturnConsumedCapacity TOTAL: the table and
// its indexes). Attach it to a client's options; Units reads the totals.
// Read units are on-demand read request units, write units write request
// units: multiplied by their prices they are what the calls cost.
// DynamoDB Local reports them by the same rules (item sizes rounded up to
// 4 KB for reads, 1 KB for writes, half for eventually consistent reads,
// twice in transactions, index writes included), which is how the
// benchmarks measure units per member.
type Meter struct {
	mu                      sync.Mutex
	reads, writes, transact float64
	calls                   int
}

// Units are capacity units consumed, by Calls calls. Transact is the part
// of Write that transactions consumed: DynamoDB charges them 2 units per
// KB, DynamoDB Local reports 4, so on DynamoDB Local Write − Transact/2 is
// what DynamoDB would charge (AWSWrite).
type Units struct {
	Read, Write, Transact float64
	Calls                 int
}

// AWSWrite is Write with transactions at DynamoDB's rate, for units
// measured on DynamoDB Local.
func (u Units) AWSWrite() float64 { return u.Write - u.Transact/2 }

// Attach makes the client report consumed capacity to m: use it as an
// option of dynamodb.New or dynamodb.NewFromConfig.
func (m *Meter) Attach(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("clienteleCapacityMeter", m.handle), middleware.After)
	})
}

// Units returns what the client consumed since the meter was made.
func (m *Meter) Units() Units {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Units{Read: m.reads, Write: m.writes, Transact: m.transact, Calls: m.calls}
}

// Since is what was consumed since before (an earlier Units).
func (m *Meter) Since(before Units) Units {
	u := m.Units()
	return Units{Read: u.Read - before.Read, Write: u.Write - before.Write, Transact: u.Transact - before.Transact, Calls: u.Calls - before.Calls}
}

func (m *Meter) handle(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	const total = types.ReturnConsumedCapacityTotal
	switch p := in.Parameters.(type) {
	case *dynamodb.GetItemInput:
		p.ReturnConsumedCapacity = total
	case *dynamodb.BatchGetItemInput:
		p.ReturnConsumedCapacity = total
	case *dynamodb.QueryInput:
		p.ReturnConsumedCapacity = total
	case *dynamodb.ScanInput:
		p.ReturnConsumedCapacity = total
	case *dynamodb.PutItemInput:
		p.ReturnConsumedCapacity = total
	case *dynamodb.UpdateItemInput:
		p.ReturnConsumedCapacity = total
	case *dynamodb.DeleteItemInput:
		p.ReturnConsumedCapacity = total
	case *dynamodb.BatchWriteItemInput:
		p.ReturnConsumedCapacity = total
	case *dynamodb.TransactWriteItemsInput:
		p.ReturnConsumedCapacity = total
	case *dynamodb.TransactGetItemsInput:
		p.ReturnConsumedCapacity = total
	}
	out, md, err := next.HandleInitialize(ctx, in)
	var reads, writes, transact float64
	switch r := out.Result.(type) {
	case *dynamodb.GetItemOutput:
		reads = units(r.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		reads = units(r.ConsumedCapacity...)
	case *dynamodb.QueryOutput:
		reads = units(r.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		reads = units(r.ConsumedCapacity)
	case *dynamodb.TransactGetItemsOutput:
		reads = units(r.ConsumedCapacity...)
	case *dynamodb.PutItemOutput:
		writes = units(r.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		writes = units(r.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		writes = units(r.ConsumedCapacity)
	case *dynamodb.BatchWriteItemOutput:
		writes = units(r.ConsumedCapacity...)
	case *dynamodb.TransactWriteItemsOutput:
		writes = units(r.ConsumedCapacity...)
		transact = writes
	}
	m.mu.Lock()
	m.reads += reads
	m.writes += writes
	m.transact += transact
	m.calls++
	m.mu.Unlock()
	return out, md, err
}

func units[C *types.ConsumedCapacity | types.ConsumedCapacity](cs ...C) float64 {
	var sum float64
	for _, c := range cs {
		var cc *types.ConsumedCapacity
		switch v := any(c).(type) {
		case *types.ConsumedCapacity:
			cc = v
		case types.ConsumedCapacity:
			cc = &v
		}
		if cc != nil && cc.CapacityUnits != nil {
			sum += *cc.CapacityUnits
		}
	}
	return sum
}
