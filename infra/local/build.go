package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// binDir is where the local binaries go, under the module root; the CDK
// stack's arm64 binaries live in bin/<function>, so neither overwrites the other.
const binDir = "bin/local"

// BinaryPath is where Start puts a function's bootstrap for the host.
func BinaryPath(root, function string) string {
	return filepath.Join(root, binDir, function, "bootstrap")
}

// buildFunctions builds every function's bootstrap for the host, in
// parallel; the Go build cache makes an unchanged function cost a
// link-check only.
func buildFunctions(ctx context.Context, root string, functions []PlannedFunction) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the go command is not on PATH: it builds the function binaries")
	}
	if err := os.MkdirAll(filepath.Join(root, binDir), 0o755); err != nil {
		return err
	}
	ignore := filepath.Join(root, binDir, ".gitignore")
	if _, err := os.Stat(ignore); errors.Is(err, os.ErrNotExist) {
		_ = os.WriteFile(ignore, []byte("# Written by clientele-local: host binaries of the functions.\n*\n"), 0o644)
	}
	errs := make([]error, len(functions))
	var wg sync.WaitGroup
	for i, f := range functions {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, gobin, "build", "-tags", "lambda.norpc", "-trimpath",
				"-o", BinaryPath(root, f.Name), "./"+filepath.ToSlash(f.Entry))
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("building %s (%s): %w\n%s", f.Name, f.Entry, err, strings.TrimSpace(out.String()))
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ModuleRoot walks up from dir to the directory holding go.mod.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod in %s or above", dir)
		}
	}
}
