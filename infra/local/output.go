package local

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// syncWriter serialises writes from the runner's logger and every child
// process onto one destination.
type syncWriter struct {
	mu  sync.Mutex
	dst io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dst.Write(p)
}

// linePrefixer writes whole lines, each prefixed (by a function instance's
// name, "members-api#1 | "), so interleaved output stays readable.
type linePrefixer struct {
	dst    io.Writer
	prefix []byte

	mu      sync.Mutex
	partial []byte
}

func newLinePrefixer(dst io.Writer, prefix string) *linePrefixer {
	return &linePrefixer{dst: dst, prefix: []byte(prefix)}
}

// maxLine bounds a line kept while waiting for its newline.
const maxLine = 64 << 10

func (w *linePrefixer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	var out []byte
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		out = append(append(out, w.prefix...), w.partial[:i+1]...)
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxLine {
		out = append(append(append(out, w.prefix...), w.partial...), '\n')
		w.partial = nil
	}
	if len(out) > 0 {
		if _, err := w.dst.Write(out); err != nil {
			return 0, err
		}
	}
	if len(w.partial) == 0 {
		w.partial = nil // let a large buffer go
	}
	return len(p), nil
}

// Flush writes a last line that had no newline.
func (w *linePrefixer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		_, _ = w.dst.Write(append(append(append([]byte(nil), w.prefix...), w.partial...), '\n'))
		w.partial = nil
	}
}

// randomBytes returns n bytes from crypto/rand (which never fails).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// newRequestUUID returns a version 4 UUID, the form of Lambda request ids.
func newRequestUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newTraceID returns an X-Ray trace header like the one Lambda passes on.
func newTraceID() string {
	return fmt.Sprintf("Root=1-%s-%s;Parent=%s;Sampled=0",
		strconv.FormatInt(time.Now().Unix(), 16), hex.EncodeToString(randomBytes(12)), hex.EncodeToString(randomBytes(8)))
}

// newAPIRequestID returns an id shaped like API Gateway's ("JKJaXmPLvHcESHA=").
func newAPIRequestID() string {
	return base64.StdEncoding.EncodeToString(randomBytes(11))
}
