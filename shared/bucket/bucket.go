// Package bucket writes objects to an S3 bucket and hands out presigned
// links to them: segment exports (CSV) that staff download. Objects are
// written as they are produced, in parts (a multipart upload), so an
// export's size is bounded by the bucket, not by the function's memory.
package bucket

import (
	"bytes"
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"clientele/shared/awsenv"
	"clientele/shared/fault"
)

// NewClient builds an S3 client from the function's environment.
// AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) overrides the endpoint, and
// then requests use path-style addressing, as S3-compatible servers
// (gofakes3 under make run) expect.
func NewClient() (*s3.Client, error) {
	cfg, err := awsenv.Config()
	if err != nil {
		return nil, err
	}
	endpoint := awsenv.Endpoint("S3")
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = endpoint
		o.UsePathStyle = endpoint != nil
	}), nil
}

// PartSize is the size of an upload's parts (S3's minimum, but for the
// last, is 5 MiB).
const PartSize = 8 << 20

// Store is one bucket.
type Store struct {
	Client *s3.Client
	Bucket string
}

// Writer streams an object: Write buffers up to PartSize and uploads each
// full part; Close uploads the rest and completes the object (a single
// PutObject when it never filled a part); Abort discards it. Not safe for
// concurrent use.
type Writer struct {
	ctx        context.Context
	s          *Store
	key, ctype string
	buf        bytes.Buffer
	upload     *string
	parts      []types.CompletedPart
	err        error
	closed     bool
	// Size counts the bytes written so far.
	Size int64
}

// Create starts the object key of the given content type.
func (s *Store) Create(ctx context.Context, key, contentType string) *Writer {
	return &Writer{ctx: ctx, s: s, key: key, ctype: contentType}
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, _ := w.buf.Write(p)
	w.Size += int64(n)
	for w.buf.Len() >= PartSize && w.err == nil {
		w.err = w.part(w.buf.Next(PartSize))
	}
	return n, w.err
}

func (w *Writer) part(data []byte) error {
	c := w.s.Client
	if w.upload == nil {
		out, err := c.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(w.s.Bucket), Key: aws.String(w.key),
			ContentType: aws.String(w.ctype)})
		if err != nil {
			return fault.Wrap(fault.Unavailable, err, "start the upload of %s", w.key)
		}
		w.upload = out.UploadId
	}
	n := int32(len(w.parts) + 1)
	out, err := c.UploadPart(w.ctx, &s3.UploadPartInput{Bucket: aws.String(w.s.Bucket), Key: aws.String(w.key), UploadId: w.upload,
		PartNumber: aws.Int32(n), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))})
	if err != nil {
		return fault.Wrap(fault.Unavailable, err, "upload part %d of %s", n, w.key)
	}
	w.parts = append(w.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
	return nil
}

// Close uploads what is buffered and completes the object.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		_ = w.Abort()
		return w.err
	}
	c := w.s.Client
	if w.upload == nil {
		_, err := c.PutObject(w.ctx, &s3.PutObjectInput{Bucket: aws.String(w.s.Bucket), Key: aws.String(w.key), ContentType: aws.String(w.ctype),
			Body: bytes.NewReader(w.buf.Bytes()), ContentLength: aws.Int64(int64(w.buf.Len()))})
		if err != nil {
			w.err = fault.Wrap(fault.Unavailable, err, "put %s", w.key)
		}
		return w.err
	}
	if w.buf.Len() > 0 {
		if w.err = w.part(w.buf.Bytes()); w.err != nil {
			_ = w.Abort()
			return w.err
		}
	}
	_, err := c.CompleteMultipartUpload(w.ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(w.s.Bucket), Key: aws.String(w.key),
		UploadId: w.upload, MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts}})
	if err != nil {
		w.err = fault.Wrap(fault.Unavailable, err, "complete %s", w.key)
		_ = w.Abort()
	}
	return w.err
}

// Abort discards a multipart upload in progress (the bucket's lifecycle
// also aborts forgotten ones after a day).
func (w *Writer) Abort() error {
	w.closed = true
	if w.upload == nil {
		return nil
	}
	_, err := w.s.Client.AbortMultipartUpload(context.WithoutCancel(w.ctx), &s3.AbortMultipartUploadInput{Bucket: aws.String(w.s.Bucket),
		Key: aws.String(w.key), UploadId: w.upload})
	return err
}

// Link returns a presigned GET link to key valid for ttl, and when it
// expires. The link also stops working when the credentials that signed
// it expire (a Lambda role's session lasts hours).
func (s *Store) Link(ctx context.Context, key string, ttl time.Duration, now time.Time) (string, time.Time, error) {
	req, err := s3.NewPresignClient(s.Client).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", time.Time{}, fault.Wrap(fault.Internal, err, "presign %s", key)
	}
	return req.URL, now.Add(ttl).UTC(), nil
}
