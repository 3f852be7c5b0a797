package local

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// s3Server is an in-process S3-compatible server (gofakes3, in memory)
// holding the topology's buckets under their logical names. Functions
// reach it through AWS_ENDPOINT_URL_S3 with path-style addressing, and
// presigned links point at it, so a browser or curl on the machine can
// fetch an export. Objects live as long as the stack (no lifecycle).
type s3Server struct {
	endpoint string
	srv      *http.Server
}

func startS3(buckets []string) (*s3Server, error) {
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			return nil, fmt.Errorf("local S3: bucket %s: %w", b, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("local S3 listener: %w", err)
	}
	s := &s3Server{endpoint: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: gofakes3.New(backend).Server(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *s3Server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
