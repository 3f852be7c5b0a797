// Package dynamolocal starts AWS's DynamoDB Local (the jar fetched by
// `make deps` into ~/.cache/clientele) on a free loopback port, for tests and
// for the local runner. When CLIENTELE_TEST_DYNAMODB_ENDPOINT is set, tests use
// that endpoint instead (another DynamoDB Local, LocalStack or a real account).
package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// EndpointVar overrides the endpoint tests use; nothing is started then.
const EndpointVar = "CLIENTELE_TEST_DYNAMODB_ENDPOINT"

// DirVar overrides where DynamoDBLocal.jar is looked for.
const DirVar = "CLIENTELE_DYNAMODB_LOCAL_DIR"

// Options configure a server.
type Options struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// DBPath persists data in this directory; empty means -inMemory.
	DBPath string
	// Log receives the server's output; nil discards it.
	Log io.Writer
}

// Server is a running DynamoDB Local (or an external endpoint).
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
}

// Dir is the directory holding DynamoDBLocal.jar.
func Dir() string {
	if d := os.Getenv(DirVar); d != "" {
		return d
	}
	cache := os.Getenv("CLIENTELE_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "clientele")
	}
	return filepath.Join(cache, "dynamodb-local-1.25.1")
}

// ForTests returns the endpoint named by CLIENTELE_TEST_DYNAMODB_ENDPOINT, or
// starts an in-memory DynamoDB Local.
func ForTests(ctx context.Context) (*Server, error) {
	if ep := os.Getenv(EndpointVar); ep != "" {
		return &Server{Endpoint: ep}, nil
	}
	return Start(ctx, Options{})
}

// Start runs DynamoDB Local and waits until it answers.
func Start(ctx context.Context, o Options) (*Server, error) {
	dir := Dir()
	jar := filepath.Join(dir, "DynamoDBLocal.jar")
	if _, err := os.Stat(jar); err != nil {
		return nil, fmt.Errorf("DynamoDB Local not found at %s: run `make deps` (needs npm and Java 11+): %w", jar, err)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, errors.New("java not found on PATH: DynamoDB Local needs Java 11+")
	}
	port := o.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	args := []string{"-Xmx512m", "-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", jar, "-port", strconv.Itoa(port), "-sharedDb", "-disableTelemetry"}
	if o.DBPath != "" {
		if err := os.MkdirAll(o.DBPath, 0o755); err != nil {
			return nil, err
		}
		abs, _ := filepath.Abs(o.DBPath)
		args = append(args, "-dbPath", abs)
	} else {
		args = append(args, "-inMemory")
	}
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	out := o.Log
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting DynamoDB Local: %w", err)
	}
	s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	// A JVM on a busy two-core machine (several test packages each
	// starting one) can take a minute; a ready one answers in seconds.
	deadline := time.Now().Add(startupWait)
	for {
		if ready(s.Endpoint) {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, errors.New("DynamoDB Local exited during startup")
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("DynamoDB Local did not answer within %s", startupWait)
		}
	}
}

// startupWait is how long Start waits for DynamoDB Local to answer.
const startupWait = 3 * time.Minute

func ready(endpoint string) bool {
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	c := http.Client{Timeout: time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// Close stops the server (a no-op for an external endpoint).
func (s *Server) Close() {
	if s == nil || s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
