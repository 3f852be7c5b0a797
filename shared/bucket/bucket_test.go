package bucket_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"clientele/shared/bucket"
	"clientele/shared/bucket/buckettest"
)

// newStore is an exports bucket on an in-process S3-compatible server.
func newStore(t *testing.T) *bucket.Store { return buckettest.New(t, "exports") }

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return body
}

// TestWriterUploadsInPartsAndLinksFetchTheObject writes objects smaller
// than a part (one PutObject) and of several parts (a multipart upload,
// written in uneven chunks), and fetches each through its presigned link.
func TestWriterUploadsInPartsAndLinksFetchTheObject(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1000, 2*bucket.PartSize + 12345} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte('a' + rng.IntN(26))
		}
		key := "test/" + time.Now().Format(time.RFC3339Nano) + ".csv"
		w := s.Create(ctx, key, "text/csv")
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(3<<20))
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if w.Size != int64(size) {
			t.Errorf("size %d: writer counted %d", size, w.Size)
		}
		now := time.Now()
		url, expires, err := s.Link(ctx, key, time.Hour, now)
		if err != nil || !expires.Equal(now.Add(time.Hour).UTC()) {
			t.Fatalf("link: %v %v", expires, err)
		}
		if got := fetch(t, url); !bytes.Equal(got, data) {
			t.Errorf("size %d: fetched %d bytes that differ", size, len(got))
		}
	}
}

// TestAbortLeavesNoObject: an aborted multipart upload stores nothing.
func TestAbortLeavesNoObject(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	w := s.Create(ctx, "aborted.csv", "text/csv")
	if _, err := w.Write(make([]byte, bucket.PartSize+1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("exports"), Key: aws.String("aborted.csv")}); err == nil {
		t.Error("an aborted upload left an object")
	}
}
