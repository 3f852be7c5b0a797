package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Admiral-Piett/goaws/app/gosqs"
	"github.com/Admiral-Piett/goaws/app/models"
	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sirupsen/logrus"
)

// Everything that knows goaws's internals lives in this file.
//
// goaws keeps its queues and its configuration (models.CurrentEnvironment)
// in package variables, so only one Stack may run per process. Its queue
// URLs are http://<Host>:<Port>/<AccountID>/<name>; a non-empty Region would
// turn them into http://<region>.<host>:<port>/..., which does not resolve,
// so Region stays empty (queue ARNs then read arn:aws:sqs::<account>:<name>,
// which its redrive accepts: it looks the dead-letter queue up by the ARN's
// last field).

// sqsTick is how often goaws makes expired in-flight messages visible again
// and redrives those received maxReceiveCount times.
const sqsTick = 250 * time.Millisecond

// goawsInUse guards goaws's package-global state.
var goawsInUse atomic.Bool

// sqsServer is goaws serving SQS's JSON protocol on a loopback listener.
type sqsServer struct {
	endpoint string
	server   *http.Server
	quit     chan bool
	queues   []string
	closed   sync.Once
}

// startSQS starts goaws on addr ("127.0.0.1:0" for any free port).
func startSQS(addr string, log io.Writer) (*sqsServer, error) {
	if !goawsInUse.CompareAndSwap(false, true) {
		return nil, errors.New("another local Stack is running in this process: goaws keeps its queues in package-global state, so close that one first")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		goawsInUse.Store(false)
		return nil, fmt.Errorf("SQS listener on %s: %w", addr, err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	models.CurrentEnvironment = models.Environment{
		Host:      "127.0.0.1",
		Port:      port,
		SqsPort:   port,
		AccountID: localAccountID,
		QueueAttributeDefaults: models.EnvQueueAttributes{
			VisibilityTimeout:  30,
			MaximumMessageSize: maxMessageBytes,
		},
	}
	// goaws logs every message body at info level and a warning for every
	// empty receive; only its errors are worth showing.
	logrus.SetLevel(logrus.ErrorLevel)
	logrus.SetOutput(log)

	s := &sqsServer{
		endpoint: "http://127.0.0.1:" + port,
		server:   &http.Server{Handler: router.New(), ReadHeaderTimeout: 10 * time.Second},
		quit:     make(chan bool),
	}
	go gosqs.PeriodicTasks(sqsTick, s.quit)
	go func() { _ = s.server.Serve(ln) }()
	return s, nil
}

// maxMessageBytes is SQS's message size limit (1 MiB since August 2025).
const maxMessageBytes = 1 << 20

// queueURL is the URL goaws gives a queue.
func (s *sqsServer) queueURL(name string) string {
	return s.endpoint + "/" + localAccountID + "/" + name
}

// queueARN is the queue's ARN as the local account names it.
func queueARN(name string) string {
	return "arn:aws:sqs:" + localRegion + ":" + localAccountID + ":" + name
}

// createQueue creates a queue and its dead-letter queue with the topology's
// redrive policy and the given visibility timeout (whole seconds: goaws's
// precision).
func (s *sqsServer) createQueue(ctx context.Context, client *sqs.Client, q PlannedQueue, visibility time.Duration) error {
	retention := func(d time.Duration) string {
		if d <= 0 {
			d = 4 * 24 * time.Hour // SQS's default
		}
		return strconv.Itoa(int(d.Seconds()))
	}
	if _, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(q.DeadLetterQueue),
		Attributes: map[string]string{
			"MessageRetentionPeriod": retention(q.DLQRetention),
			"MaximumMessageSize":     strconv.Itoa(maxMessageBytes),
		},
	}); err != nil {
		return fmt.Errorf("creating queue %s: %w", q.DeadLetterQueue, err)
	}
	s.queues = append(s.queues, q.DeadLetterQueue)
	redrive, _ := json.Marshal(map[string]any{
		"deadLetterTargetArn": queueARN(q.DeadLetterQueue),
		"maxReceiveCount":     strconv.Itoa(q.MaxReceiveCount),
	})
	seconds := int((visibility + time.Second - 1) / time.Second)
	if _, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(q.Name),
		Attributes: map[string]string{
			"VisibilityTimeout":      strconv.Itoa(seconds),
			"RedrivePolicy":          string(redrive),
			"MessageRetentionPeriod": retention(q.Retention),
			"MaximumMessageSize":     strconv.Itoa(maxMessageBytes),
		},
	}); err != nil {
		return fmt.Errorf("creating queue %s: %w", q.Name, err)
	}
	s.queues = append(s.queues, q.Name)
	return nil
}

// messageFacts reads what goaws knows about an in-flight message but does
// not report correctly: when it was sent (its SentTimestamp is the time of
// the receive) and how often it was received (its ApproximateReceiveCount is
// always 1). goaws counts a receive that ended without a delete in Retry,
// the same counter its redrive compares with maxReceiveCount, so the
// receive count is Retry+1 while the message is in flight.
func messageFacts(queue, messageID string) (sent time.Time, receives int, ok bool) {
	models.SyncQueues.RLock()
	defer models.SyncQueues.RUnlock()
	q, found := models.SyncQueues.Queues[queue]
	if !found {
		return time.Time{}, 0, false
	}
	for i := range q.Messages {
		if m := &q.Messages[i]; m.Uuid == messageID {
			return m.SentTime, m.Retry + 1, true
		}
	}
	return time.Time{}, 0, false
}

// close stops goaws and forgets the queues this server created, so the next
// Stack in this process starts from empty queues as a new process would.
func (s *sqsServer) close() error {
	var err error
	s.closed.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = s.server.Shutdown(ctx)
		close(s.quit)
		models.SyncQueues.Lock()
		for _, name := range s.queues {
			delete(models.SyncQueues.Queues, name)
		}
		models.SyncQueues.Unlock()
		logrus.SetOutput(io.Discard)
		goawsInUse.Store(false)
	})
	return err
}
