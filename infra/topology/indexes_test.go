package topology

import (
	"reflect"
	"testing"

	"clientele/shared/dynamo"
)

// The code that reads an index (shared/dynamo) and the topology that
// creates it must agree on its name, keys and projection: a mismatch would
// deploy an index the code cannot query, or one missing an attribute the
// code reads (an INCLUDE projection silently drops it).
func TestIndexesMatchTheCode(t *testing.T) {
	t.Parallel()
	code := map[string][]dynamo.Index{
		MembersTable:      dynamo.MembersIndexes,
		PointsTable:       dynamo.PointsIndexes,
		SegmentationTable: dynamo.SegmentationIndexes,
	}
	for _, table := range Clientele().Tables {
		want, ok := code[table.Name]
		if !ok {
			if len(table.Indexes) > 0 {
				t.Errorf("table %s has indexes the code does not state", table.Name)
			}
			continue
		}
		var got []dynamo.Index
		for _, ix := range table.Indexes {
			d := dynamo.Index{Name: ix.Name, PartitionKey: ix.PartitionKey.Name, PartitionNum: ix.PartitionKey.Type == Number, KeysOnly: ix.KeysOnly, Include: ix.Include}
			if ix.SortKey != nil {
				d.SortKey = ix.SortKey.Name
			}
			got = append(got, d)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("table %s: topology indexes %+v, code %+v", table.Name, got, want)
		}
	}
}

// An access limited to indexes names indexes of that table, and reads.
func TestValidateRejectsIndexAccessErrors(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*TableAccess){
		"unknown index": func(a *TableAccess) { a.Indexes = []string{"no-such-index"} },
		"write":         func(a *TableAccess) { a.Actions = []string{"Query", "GetItem"} },
	} {
		s := Clientele()
		found := false
		for i := range s.Functions {
			for j := range s.Functions[i].Access {
				if len(s.Functions[i].Access[j].Indexes) > 0 && !found {
					found = true
					mutate(&s.Functions[i].Access[j])
				}
			}
		}
		if !found {
			t.Fatal("no function reads an index only")
		}
		if err := s.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
