package local

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuildFunctionsReportsEachFunctionAsItIsBuilt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function with the go command; make test runs it")
	}
	t.Parallel()
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Dir(BinaryPath(root, "build-test-echo"))) })
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err = buildFunctions(ctx, root, []PlannedFunction{
		{Name: "build-test-echo", Entry: "infra/local/testdata/echo"},
		{Name: "build-test-missing", Entry: "infra/local/testdata/no-such-function"},
	}, log)
	if err == nil || !strings.Contains(err.Error(), "build-test-missing") {
		t.Errorf("err = %v, want the missing function's build failure", err)
	}
	out := logged.String()
	for _, want := range []string{
		`msg="building the functions for this machine`,
		`names=build-test-echo,build-test-missing`,
		`msg=built function=build-test-echo n="1 of 2"`,
		`msg="build failed" function=build-test-missing n="2 of 2"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

func TestBuildProgressTracksWhatIsLeft(t *testing.T) {
	t.Parallel()
	p := newBuildProgress([]string{"a", "b", "c"})
	if n := p.finish("b"); n != 1 {
		t.Errorf("finish(b) = %d, want 1", n)
	}
	done, left := p.snapshot()
	if done != 1 || strings.Join(left, ",") != "a,c" {
		t.Errorf("snapshot = %d %v, want 1 [a c]", done, left)
	}
}
