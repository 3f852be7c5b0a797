package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// binDir is where the local binaries go, under the module root; the CDK
// stack's arm64 binaries live in bin/<function>, so neither overwrites the other.
const binDir = "bin/local"

// BinaryPath is where Start puts a function's bootstrap for the host.
func BinaryPath(root, function string) string {
	return filepath.Join(root, binDir, function, "bootstrap")
}

// buildProgressEvery is how often buildFunctions says which builds are
// still running.
const buildProgressEvery = 15 * time.Second

// buildFunctions builds every function's bootstrap for the host, in
// parallel; the Go build cache makes an unchanged function cost a
// link-check only. It logs each function as it finishes ("n of m") and,
// while builds run, which are still going: the first build on a machine
// compiles the AWS SDK and takes minutes.
func buildFunctions(ctx context.Context, root string, functions []PlannedFunction, log *slog.Logger) error {
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
	names := make([]string, len(functions))
	for i, f := range functions {
		names[i] = f.Name
	}
	log.Info("building the functions for this machine (the first start compiles the AWS SDK: a few minutes; later starts take seconds)",
		"functions", len(functions), "names", strings.Join(names, ","))
	progress := newBuildProgress(names)
	started := time.Now()
	stopTicker := make(chan struct{})
	tickerDone := make(chan struct{})
	go func() {
		defer close(tickerDone)
		t := time.NewTicker(buildProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-stopTicker:
				return
			case <-t.C:
				done, running := progress.snapshot()
				log.Info("still building", "done", fmt.Sprintf("%d of %d", done, len(functions)),
					"left", strings.Join(running, ","), "elapsed", time.Since(started).Round(time.Second))
			}
		}
	}()
	errs := make([]error, len(functions))
	build := func(i int, f PlannedFunction) {
		begun := time.Now()
		cmd := exec.CommandContext(ctx, gobin, "build", "-tags", "lambda.norpc", "-trimpath",
			"-o", BinaryPath(root, f.Name), "./"+filepath.ToSlash(f.Entry))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		n := progress.finish(f.Name)
		if err != nil {
			errs[i] = fmt.Errorf("building %s (%s): %w\n%s", f.Name, f.Entry, err, strings.TrimSpace(out.String()))
			log.Error("build failed", "function", f.Name, "n", fmt.Sprintf("%d of %d", n, len(functions)))
			return
		}
		log.Info("built", "function", f.Name, "n", fmt.Sprintf("%d of %d", n, len(functions)),
			"took", time.Since(begun).Round(100*time.Millisecond))
	}
	// The first build alone compiles what the functions share (the AWS SDK,
	// shared/...) into the build cache once; building all at once on a cold
	// cache would compile it once per function, side by side. The rest then
	// mostly link, in parallel.
	if len(functions) > 0 {
		build(0, functions[0])
	}
	var wg sync.WaitGroup
	for i, f := range functions[min(1, len(functions)):] {
		wg.Go(func() { build(i+1, f) })
	}
	wg.Wait()
	close(stopTicker)
	<-tickerDone
	return errors.Join(errs...)
}

// buildProgress tracks which builds are still running.
type buildProgress struct {
	mu      sync.Mutex
	pending []string
	done    int
}

func newBuildProgress(names []string) *buildProgress {
	return &buildProgress{pending: append([]string(nil), names...)}
}

// finish marks a build done and returns how many are done now.
func (p *buildProgress) finish(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, n := range p.pending {
		if n == name {
			p.pending = append(p.pending[:i], p.pending[i+1:]...)
			break
		}
	}
	p.done++
	return p.done
}

// snapshot returns how many builds are done and which are running.
func (p *buildProgress) snapshot() (int, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done, append([]string(nil), p.pending...)
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
