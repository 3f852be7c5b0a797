package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"clientele/infra/topology"
)

// modulePath is the module every function's code lives in.
const modulePath = "clientele"

// sdkOperations maps what Go code calls (a client method, a paginator
// constructor, a transaction item type) to the IAM action it needs.
var sdkOperations = map[string]string{
	"GetItem":              "dynamodb:GetItem",
	"PutItem":              "dynamodb:PutItem",
	"UpdateItem":           "dynamodb:UpdateItem",
	"DeleteItem":           "dynamodb:DeleteItem",
	"Query":                "dynamodb:Query",
	"Scan":                 "dynamodb:Scan",
	"BatchGetItem":         "dynamodb:BatchGetItem",
	"BatchWriteItem":       "dynamodb:BatchWriteItem",
	"DescribeTable":        "dynamodb:DescribeTable",
	"NewQueryPaginator":    "dynamodb:Query",
	"NewScanPaginator":     "dynamodb:Scan",
	"types.Put":            "dynamodb:PutItem",
	"types.Update":         "dynamodb:UpdateItem",
	"types.Delete":         "dynamodb:DeleteItem",
	"types.ConditionCheck": "dynamodb:ConditionCheckItem",
	"types.Get":            "dynamodb:GetItem",
	"SendMessage":          "sqs:SendMessage",
	"SendMessageBatch":     "sqs:SendMessage",
}

// goFunc is one function or method declaration of the module.
type goFunc struct {
	pkg  string
	name string
	// ops are the IAM actions of the SDK operations its body calls.
	ops []string
	// refs are the identifiers its body mentions: the functions it may call
	// or pass on (matched by name, an over-approximation).
	refs []string
}

// moduleCode is the parsed Go source of the module (tests excluded).
type moduleCode struct {
	imports map[string][]string // package → module-local imports
	funcs   map[string][]goFunc // name → declarations
}

func parseModule(t *testing.T, root string) *moduleCode {
	t.Helper()
	m := &moduleCode{imports: map[string][]string{}, funcs: map[string][]goFunc{}}
	fset := token.NewFileSet()
	for _, top := range []string{"functions", "shared"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			pkg := modulePath + "/" + filepath.ToSlash(rel)
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if strings.HasPrefix(p, modulePath+"/") && !slices.Contains(m.imports[pkg], p) {
					m.imports[pkg] = append(m.imports[pkg], p)
				}
			}
			if _, ok := m.imports[pkg]; !ok {
				m.imports[pkg] = nil
			}
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				fn := goFunc{pkg: pkg, name: fd.Name.Name}
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.CallExpr:
						if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
							if op, ok := sdkOperations[sel.Sel.Name]; ok {
								fn.ops = append(fn.ops, op)
							}
						}
					case *ast.CompositeLit:
						if sel, ok := n.Type.(*ast.SelectorExpr); ok {
							if x, ok := sel.X.(*ast.Ident); ok {
								if op, ok := sdkOperations[x.Name+"."+sel.Sel.Name]; ok {
									fn.ops = append(fn.ops, op)
								}
							}
						}
					case *ast.Ident:
						fn.refs = append(fn.refs, n.Name)
					}
					return true
				})
				m.funcs[fn.name] = append(m.funcs[fn.name], fn)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// sees reports whether an identifier in package from may name a
// declaration in package to, for the function whose package is root: the
// same package, one that from imports directly, or one the function's own
// package imports directly (its code wires implementations into the
// interfaces shared packages call, e.g. a dynamo store into an engine).
// Without the bound, any same-named method anywhere in the import graph
// counts: the relay's Handle would reach a sweep engine's Handle, and so a
// scan, through a package it links only for an unrelated store.
func (m *moduleCode) sees(root, from, to string) bool {
	if to == from || to == root {
		return true
	}
	return slices.Contains(m.imports[from], to) || slices.Contains(m.imports[root], to)
}

// reachableActions returns the IAM actions of every SDK operation the code
// of a function's package can reach: starting from every declaration in
// the package, following identifiers to declarations of the same name in
// the packages that the referring package or the function's own package
// imports directly (see sees).
func (m *moduleCode) reachableActions(entry string) []string {
	pkgs := map[string]bool{}
	var visit func(string)
	visit = func(p string) {
		if pkgs[p] {
			return
		}
		pkgs[p] = true
		for _, q := range m.imports[p] {
			visit(q)
		}
	}
	root := modulePath + "/" + entry
	visit(root)
	seen := map[*goFunc]bool{}
	actions := map[string]bool{}
	var queue []*goFunc
	for name := range m.funcs {
		for i := range m.funcs[name] {
			if m.funcs[name][i].pkg == root {
				queue = append(queue, &m.funcs[name][i])
			}
		}
	}
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		if seen[f] {
			continue
		}
		seen[f] = true
		for _, op := range f.ops {
			actions[op] = true
		}
		for _, ref := range f.refs {
			for i := range m.funcs[ref] {
				if g := &m.funcs[ref][i]; pkgs[g.pkg] && m.sees(root, f.pkg, g.pkg) && !seen[g] {
					queue = append(queue, g)
				}
			}
		}
	}
	out := make([]string, 0, len(actions))
	for a := range actions {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// ownActions returns the IAM actions of the SDK operations called in the
// function's own package (not in the shared packages it imports).
func (m *moduleCode) ownActions(entry string) []string {
	set := map[string]bool{}
	for _, decls := range m.funcs {
		for _, f := range decls {
			if f.pkg == modulePath+"/"+entry {
				for _, op := range f.ops {
					set[op] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// TestGrantsMatchWhatTheCodeCalls compares the topology's statement of what
// each function does with its Go source: every DynamoDB action granted must
// be an operation the function's code can reach (a grant nothing uses is a
// grant too many), every operation its own package calls must be granted,
// and a function sends to queues exactly when its code can send.
//
// Reachability follows identifiers by name from the function's package into
// the module packages it imports, an over-approximation (ctx.Done reaches
// every Done method): a grant the code cannot use is caught, an unneeded
// grant hidden behind a name shared with a used method is not. Which table an
// operation goes to is not derived from the source; TestRolesGrantOnlyWhat
// TheTopologyGrants holds the synthesized policies to the stated tables.
func TestGrantsMatchWhatTheCodeCalls(t *testing.T) {
	t.Parallel()
	code := parseModule(t, "..")
	system := topology.Clientele()
	for _, f := range system.Functions {
		reachable := code.reachableActions(f.Entry)
		declared := map[string]bool{}
		for _, a := range f.Access {
			for _, action := range a.Actions {
				declared["dynamodb:"+action] = true
				if !slices.Contains(reachable, "dynamodb:"+action) {
					t.Errorf("%s: granted dynamodb:%s on %s, which its code never calls (it can reach %v)", f.Name, action, a.Table, reachable)
				}
			}
		}
		for _, op := range code.ownActions(f.Entry) {
			if strings.HasPrefix(op, "dynamodb:") && !declared[op] {
				t.Errorf("%s: its code calls %s, which the topology does not grant", f.Name, op)
			}
		}
		sends := len(system.SendsTo(f.Name)) > 0
		if sends != slices.Contains(reachable, "sqs:SendMessage") {
			t.Errorf("%s: may send to %v, but its code can send: %v", f.Name, system.SendsTo(f.Name), !sends)
		}
	}
}

// TestSDKCallScannerSeesOperations checks the scanner on a function whose
// calls are known: the outbox relay queries and deletes, and sends.
func TestSDKCallScannerSeesOperations(t *testing.T) {
	t.Parallel()
	code := parseModule(t, "..")
	got := code.reachableActions("functions/outbox/relay")
	for _, want := range []string{"dynamodb:Query", "dynamodb:DeleteItem", "sqs:SendMessage"} {
		if !slices.Contains(got, want) {
			t.Errorf("relay reaches %v, want %s among them", got, want)
		}
	}
	if slices.Contains(got, "dynamodb:Scan") {
		t.Errorf("relay reaches %v: a scan it never calls", got)
	}
	if own := code.ownActions("functions/points/nightly"); !slices.Contains(own, "dynamodb:Scan") {
		t.Errorf("points-nightly's own code calls %v, want its member scan among them", own)
	}
}

// TestOutboxPartitionMatchesTheStore holds the relay's leading-key grant to
// the partition shared/dynamo writes outbox items to: were they to differ,
// the relay would be denied every outbox it must drain.
func TestOutboxPartitionMatchesTheStore(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../shared/dynamo/outbox.go")
	if err != nil {
		t.Fatal(err)
	}
	if want := `outboxPK = "` + topology.OutboxPartition + `"`; !strings.Contains(string(src), want) {
		t.Errorf("shared/dynamo/outbox.go does not declare %s", want)
	}
}
