// Package metrics writes CloudWatch metrics in the embedded metric format
// (EMF): one JSON object per line on the function's standard output, which
// CloudWatch Logs turns into metrics on ingestion, with no PutMetricData call
// and no permission beyond writing the function's own log group. Locally the
// lines are ordinary JSON log lines.
package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"sync"
	"time"

	"clientele/shared/env"
)

// Namespace is the CloudWatch namespace of every Clientele metric; the
// stack's alarms and dashboard read it.
const Namespace = "Clientele"

// Names of the run metrics the scheduled jobs emit and the stack alarms on.
const (
	// RunCompleted is 1 for a run that finished its work, 0 for one cut
	// short (the next run goes on).
	RunCompleted = "RunCompleted"
	// FailedItems counts the accounts a run could not process.
	FailedItems = "FailedItems"
	// InvariantViolations counts the ledger invariants reconciliation found
	// broken.
	InvariantViolations = "InvariantViolations"
	// PointsLiability is the points members hold or will hold (available +
	// pending): the programme's outstanding liability.
	PointsLiability = "PointsLiability"
	// PointsDebt is the points members owe after returns.
	PointsDebt = "PointsDebt"
	// MembersProcessed counts the accounts a run went through.
	MembersProcessed = "MembersProcessed"
	// PointsExpired counts the points a nightly run expired.
	PointsExpired = "PointsExpired"
	// ReadUnits and WriteUnits are the DynamoDB capacity units an
	// invocation consumed (dynamo.Meter): summed over a night they are
	// what the run cost in DynamoDB.
	ReadUnits  = "ReadUnits"
	WriteUnits = "WriteUnits"
)

// Unit is a CloudWatch metric unit.
type Unit string

// Units Clientele uses.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Seconds      Unit = "Seconds"
	None         Unit = "None"
)

// Dimension names every record carries.
const (
	ServiceDimension = "service"
	StageDimension   = "stage"
)

// Metric is one value of a record.
type Metric struct {
	Name  string
	Value float64
	Unit  Unit
}

// Writer emits EMF records with a fixed namespace and dimension set.
// It is safe for concurrent use.
type Writer struct {
	namespace  string
	dimensions map[string]string
	now        func() time.Time

	mu sync.Mutex
	w  io.Writer
}

// New returns a writer emitting to w (stdout when nil) under namespace, every
// record carrying the dimensions.
func New(w io.Writer, namespace string, dimensions map[string]string) *Writer {
	if w == nil {
		w = os.Stdout
	}
	dims := make(map[string]string, len(dimensions))
	for k, v := range dimensions {
		dims[k] = v
	}
	return &Writer{namespace: namespace, dimensions: dims, now: time.Now, w: w}
}

// FromEnv returns a writer for the Clientele namespace whose records carry
// the service and stage dimensions from CLIENTELE_SERVICE and CLIENTELE_STAGE
// (service falls back to the given name, stage to "local").
func FromEnv(w io.Writer, service string) *Writer {
	return New(w, Namespace, map[string]string{
		ServiceDimension: env.Or(env.Service, service),
		StageDimension:   env.Or(env.Stage, "local"),
	})
}

// Emit writes one record holding the metrics and, as searchable but
// unaggregated fields, the properties. Metric names must be unique, values
// finite, and neither may collide with a dimension or property name.
func (w *Writer) Emit(properties map[string]any, metrics ...Metric) error {
	if len(metrics) == 0 {
		return errors.New("metrics: a record needs at least one metric")
	}
	if len(metrics) > 100 {
		return fmt.Errorf("metrics: %d metrics in one record, EMF allows 100", len(metrics))
	}
	record := make(map[string]any, len(w.dimensions)+len(properties)+len(metrics)+1)
	for k, v := range w.dimensions {
		record[k] = v
	}
	for k, v := range properties {
		if _, taken := record[k]; taken || k == "_aws" {
			return fmt.Errorf("metrics: property %q collides with a dimension", k)
		}
		record[k] = v
	}
	definitions := make([]metricDefinition, 0, len(metrics))
	for _, m := range metrics {
		if m.Name == "" {
			return errors.New("metrics: a metric needs a name")
		}
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			return fmt.Errorf("metrics: %s = %v is not a finite number", m.Name, m.Value)
		}
		if _, taken := record[m.Name]; taken {
			return fmt.Errorf("metrics: %s appears twice or collides with a dimension or property", m.Name)
		}
		unit := m.Unit
		if unit == "" {
			unit = None
		}
		record[m.Name] = m.Value
		definitions = append(definitions, metricDefinition{Name: m.Name, Unit: unit})
	}
	dimensionNames := make([]string, 0, len(w.dimensions))
	for k := range w.dimensions {
		dimensionNames = append(dimensionNames, k)
	}
	sort.Strings(dimensionNames)
	record["_aws"] = metadata{
		Timestamp: w.now().UnixMilli(),
		CloudWatchMetrics: []directive{{
			Namespace:  w.namespace,
			Dimensions: [][]string{dimensionNames},
			Metrics:    definitions,
		}},
	}
	line, err := json.Marshal(record)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.w.Write(append(line, '\n'))
	return err
}

// metadata is the _aws member of an EMF record.
type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// directive tells CloudWatch which members are metrics and which dimensions.
type directive struct {
	Namespace  string             `json:"Namespace"`
	Dimensions [][]string         `json:"Dimensions"`
	Metrics    []metricDefinition `json:"Metrics"`
}

type metricDefinition struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}
