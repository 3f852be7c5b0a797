package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Lambda limits the local runtime enforces.
const (
	// initTimeout is how long a new process may take to ask for its first
	// invocation (Lambda's init phase limit).
	initTimeout = 10 * time.Second
	// maxPayloadBytes and maxResponseBytes are Lambda's limits on a
	// synchronous invocation's event and response.
	maxPayloadBytes  = 6 << 20
	maxResponseBytes = 6 << 20
	// runtimeAPIVersion prefixes every Runtime API path.
	runtimeAPIVersion = "/2018-06-01"
)

// InvokeError is a failed invocation, shaped like the error payload Lambda
// returns: the function's own error, a timeout ("Sandbox.Timedout"), or a
// crash of its process ("Runtime.ExitError").
type InvokeError struct {
	Function string `json:"-"`
	Type     string `json:"errorType"`
	Message  string `json:"errorMessage"`
}

// Error describes the failure.
func (e *InvokeError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Function, e.Type, e.Message)
}

// FunctionStats counts what happened to one function's processes.
type FunctionStats struct {
	Name string
	// Instances is the number of processes running now.
	Instances int
	// InitDurations lists, for every process started, the time from
	// starting it to its first request for work (Lambda's "Init Duration").
	InitDurations []time.Duration
	// ColdStarts lists, for every process that answered, the time from
	// starting it to its first response (success or error): the init
	// duration plus the first invocation.
	ColdStarts  []time.Duration
	Invocations int
	// Errors counts failed invocations, timeouts and crashes included.
	Errors   int
	Timeouts int
	// Crashes counts processes that exited on their own.
	Crashes int
}

// lambdaFunction runs one topology function: a pool of up to maxInstances
// processes of its bootstrap, each talking to a Runtime API of its own, so
// a timed-out or crashed process can be told apart and replaced.
type lambdaFunction struct {
	name         string
	binary       string
	timeout      time.Duration
	env          []string
	maxInstances int
	output       *syncWriter
	log          *slog.Logger

	idle   chan *instance // processes waiting for work
	slots  chan struct{}  // one token per live process
	closed chan struct{}

	mu        sync.Mutex
	instances map[*instance]struct{}
	started   int
	stats     FunctionStats
	closing   bool
}

func newLambdaFunction(name, binary string, timeout time.Duration, env []string, maxInstances int, output *syncWriter, log *slog.Logger) *lambdaFunction {
	return &lambdaFunction{
		name:         name,
		binary:       binary,
		timeout:      timeout,
		env:          env,
		maxInstances: maxInstances,
		output:       output,
		log:          log.With("function", name),
		idle:         make(chan *instance, maxInstances),
		slots:        make(chan struct{}, maxInstances),
		closed:       make(chan struct{}),
		instances:    map[*instance]struct{}{},
		stats:        FunctionStats{Name: name},
	}
}

// Invoke runs the function once with payload and returns its response. The
// wait ends early when ctx ends, but the invocation itself runs to its end
// or its timeout, as on Lambda. Failures of the function are *InvokeError.
func (f *lambdaFunction) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if len(payload) > maxPayloadBytes {
		return nil, &InvokeError{Function: f.name, Type: payloadTooLargeErrorType,
			Message: fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxPayloadBytes)}
	}
	in, err := f.acquire(ctx)
	if err != nil {
		return nil, err
	}
	done := make(chan invocationResult, 1)
	go func() {
		res, healthy := in.run(payload)
		f.release(in, healthy)
		f.count(res)
		done <- res
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return nil, res.err
		}
		return res.payload, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Stats returns a copy of the function's counters.
func (f *lambdaFunction) Stats() FunctionStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.ColdStarts = append([]time.Duration(nil), f.stats.ColdStarts...)
	s.InitDurations = append([]time.Duration(nil), f.stats.InitDurations...)
	s.Instances = len(f.instances)
	return s
}

func (f *lambdaFunction) count(res invocationResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats.Invocations++
	if res.err != nil {
		f.stats.Errors++
		if res.err.Type == timeoutErrorType {
			f.stats.Timeouts++
		}
	}
}

// acquire returns an idle process, starts one if the pool has room, or
// waits for one to become idle.
func (f *lambdaFunction) acquire(ctx context.Context) (*instance, error) {
	for {
		select {
		case in := <-f.idle:
			if in.alive() {
				return in, nil
			}
			f.discard(in)
			continue
		default:
		}
		select {
		case in := <-f.idle:
			if in.alive() {
				return in, nil
			}
			f.discard(in)
		case f.slots <- struct{}{}:
			in, err := f.spawn()
			if err != nil {
				<-f.slots
				return nil, err
			}
			return in, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.closed:
			return nil, errStackClosed
		}
	}
}

// release puts a healthy process back in the pool and discards a broken one.
func (f *lambdaFunction) release(in *instance, healthy bool) {
	f.mu.Lock()
	closing := f.closing
	f.mu.Unlock()
	if !healthy || closing || !in.alive() {
		f.discard(in)
		return
	}
	f.idle <- in // never blocks: at most maxInstances processes exist
}

// discard stops a process and frees its slot.
func (f *lambdaFunction) discard(in *instance) {
	in.stop()
	f.mu.Lock()
	_, live := f.instances[in]
	delete(f.instances, in)
	f.mu.Unlock()
	if live {
		<-f.slots
	}
}

// spawn starts a new process with a Runtime API of its own.
func (f *lambdaFunction) spawn() (*instance, error) {
	f.mu.Lock()
	if f.closing {
		f.mu.Unlock()
		return nil, errStackClosed
	}
	f.started++
	number := f.started
	f.mu.Unlock()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%s: runtime API listener: %w", f.name, err)
	}
	in := &instance{
		fn:      f,
		label:   fmt.Sprintf("%s#%d", f.name, number),
		pending: make(chan *invocation),
		exited:  make(chan struct{}),
		current: map[string]*invocation{},
	}
	in.server = &http.Server{Handler: in.routes(), ReadHeaderTimeout: 10 * time.Second}

	in.log = newLinePrefixer(f.output, in.label+" | ")
	cmd := exec.Command(f.binary)
	cmd.Dir = filepath.Dir(f.binary)
	cmd.Env = append(append([]string(nil), f.env...),
		"AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(),
		"AWS_LAMBDA_LOG_STREAM_NAME="+time.Now().UTC().Format("2006/01/02")+"/[$LATEST]"+in.label,
	)
	cmd.Stdout, cmd.Stderr = in.log, in.log
	cmd.SysProcAttr = childProcessAttributes()
	cmd.WaitDelay = time.Second
	in.startedAt = time.Now()
	go func() { _ = in.server.Serve(ln) }()
	if err := cmd.Start(); err != nil {
		_ = in.server.Close()
		return nil, fmt.Errorf("%s: starting %s: %w", f.name, f.binary, err)
	}
	in.cmd = cmd
	f.mu.Lock()
	f.instances[in] = struct{}{}
	closing := f.closing
	f.mu.Unlock()
	go in.wait()
	if closing { // close ran while this process started: it missed it
		in.stop()
		f.mu.Lock()
		delete(f.instances, in)
		f.mu.Unlock()
		return nil, errStackClosed
	}
	return in, nil
}

// close stops every process of the function.
func (f *lambdaFunction) close() {
	f.mu.Lock()
	if f.closing {
		f.mu.Unlock()
		return
	}
	f.closing = true
	close(f.closed)
	all := make([]*instance, 0, len(f.instances))
	for in := range f.instances {
		all = append(all, in)
	}
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range all {
		wg.Go(in.stop)
	}
	wg.Wait()
}

func (f *lambdaFunction) recordInit(d time.Duration) {
	f.mu.Lock()
	f.stats.InitDurations = append(f.stats.InitDurations, d)
	f.mu.Unlock()
}

func (f *lambdaFunction) recordColdStart(in *instance, d time.Duration) {
	f.mu.Lock()
	f.stats.ColdStarts = append(f.stats.ColdStarts, d)
	f.mu.Unlock()
	f.log.Info("cold start", "instance", in.label, "init", in.initDuration().Round(time.Microsecond),
		"first_response", d.Round(time.Microsecond))
}

func (f *lambdaFunction) recordCrash() {
	f.mu.Lock()
	closing := f.closing
	if !closing {
		f.stats.Crashes++
	}
	f.mu.Unlock()
}

// errStackClosed is returned by invocations attempted during Close.
var errStackClosed = errors.New("local stack is closed")

// Error types Lambda reports for a timed-out invocation and for an event
// over the payload limit.
const (
	timeoutErrorType         = "Sandbox.Timedout"
	payloadTooLargeErrorType = "RequestEntityTooLargeException"
)

// invocation is one event handed to a process.
type invocation struct {
	id       string
	payload  []byte
	accepted chan time.Time        // the deadline, once the process took it
	result   chan invocationResult // the outcome, posted by the process
}

type invocationResult struct {
	payload []byte
	err     *InvokeError
}

// instance is one process of a function and its Runtime API.
type instance struct {
	fn        *lambdaFunction
	label     string
	cmd       *exec.Cmd
	server    *http.Server
	log       *linePrefixer
	startedAt time.Time
	pending   chan *invocation // handed to the process's next "next" call
	exited    chan struct{}
	stopOnce  sync.Once

	mu        sync.Mutex
	current   map[string]*invocation // by request id, until answered
	answered  bool                   // some invocation got a response already
	ready     time.Duration          // start to first "next"; 0 until then
	initError *InvokeError
	killed    bool
	exitErr   error
}

func (in *instance) alive() bool {
	select {
	case <-in.exited:
		return false
	default:
		return true
	}
}

// wait reaps the process and shuts its Runtime API down.
func (in *instance) wait() {
	err := in.cmd.Wait()
	in.log.Flush()
	in.mu.Lock()
	in.exitErr = err
	killed := in.killed
	in.mu.Unlock()
	if !killed {
		in.fn.recordCrash()
		in.fn.log.Warn("process exited", "instance", in.label, "err", errString(err))
	}
	close(in.exited)
	_ = in.server.Close()
}

// stop kills the process (and any it started) and waits for it.
func (in *instance) stop() {
	in.stopOnce.Do(func() {
		in.mu.Lock()
		in.killed = true
		in.mu.Unlock()
		killProcessTree(in.cmd.Process)
	})
	<-in.exited
}

// run hands payload to the process and waits for the outcome. healthy is
// false when the process must not be reused (it timed out or died).
func (in *instance) run(payload []byte) (res invocationResult, healthy bool) {
	inv := &invocation{
		id:       newRequestUUID(),
		payload:  payload,
		accepted: make(chan time.Time, 1),
		result:   make(chan invocationResult, 1),
	}
	initTimer := time.NewTimer(initTimeout)
	defer initTimer.Stop()
	select {
	case in.pending <- inv:
	case <-in.exited:
		return invocationResult{err: in.exitError(inv.id)}, false
	case <-initTimer.C:
		in.fn.log.Warn("process never asked for work; restarting", "instance", in.label, "after", initTimeout)
		in.stop()
		return invocationResult{err: &InvokeError{Function: in.fn.name, Type: "Runtime.Unknown",
			Message: fmt.Sprintf("RequestId: %s Error: the runtime did not ask for an invocation within %s", inv.id, initTimeout)}}, false
	}
	deadline := <-inv.accepted
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case res := <-inv.result:
		in.mu.Lock()
		first := !in.answered
		in.answered = true
		in.mu.Unlock()
		if first {
			in.fn.recordColdStart(in, time.Since(in.startedAt))
		}
		return res, true
	case <-in.exited:
		// A response posted just before the process exited still counts.
		select {
		case res := <-inv.result:
			return res, false
		default:
		}
		return invocationResult{err: in.exitError(inv.id)}, false
	case <-timer.C:
		in.fn.log.Warn("invocation timed out; restarting the process", "instance", in.label, "request_id", inv.id, "timeout", in.fn.timeout)
		in.stop()
		return invocationResult{err: &InvokeError{Function: in.fn.name, Type: timeoutErrorType,
			Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, in.fn.timeout.Seconds())}}, false
	}
}

// exitError describes the death of the process, after exited closed.
func (in *instance) exitError(requestID string) *InvokeError {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.initError != nil {
		e := *in.initError
		return &e
	}
	return &InvokeError{Function: in.fn.name, Type: "Runtime.ExitError",
		Message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", requestID, errString(in.exitErr))}
}

// routes is the Runtime API of this process.
func (in *instance) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimeAPIVersion+"/runtime/invocation/next", in.next)
	mux.HandleFunc("POST "+runtimeAPIVersion+"/runtime/invocation/{id}/response", in.response)
	mux.HandleFunc("POST "+runtimeAPIVersion+"/runtime/invocation/{id}/error", in.invocationError)
	mux.HandleFunc("POST "+runtimeAPIVersion+"/runtime/init/error", in.initErrorHandler)
	return mux
}

func (in *instance) initDuration() time.Duration {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.ready
}

// next blocks until an invocation is handed over, then sends it.
func (in *instance) next(w http.ResponseWriter, r *http.Request) {
	in.mu.Lock()
	first := in.ready == 0
	if first {
		in.ready = max(time.Since(in.startedAt), time.Nanosecond)
	}
	ready := in.ready
	in.mu.Unlock()
	if first {
		in.fn.recordInit(ready)
	}
	select {
	case inv := <-in.pending:
		deadline := time.Now().Add(in.fn.timeout)
		in.mu.Lock()
		in.current[inv.id] = inv
		in.mu.Unlock()
		inv.accepted <- deadline
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", functionARN(in.fn.name))
		h.Set("Lambda-Runtime-Trace-Id", newTraceID())
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	}
}

// take removes and returns the invocation with the request's id.
func (in *instance) take(r *http.Request) *invocation {
	in.mu.Lock()
	defer in.mu.Unlock()
	id := r.PathValue("id")
	inv := in.current[id]
	delete(in.current, id)
	return inv
}

func (in *instance) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	if err != nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	inv := in.take(r)
	if inv == nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or already answered request id")
		return
	}
	var res invocationResult
	switch {
	case r.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "":
		// A streamed response that failed midway reports its error in trailers.
		res.err = &InvokeError{Function: in.fn.name, Type: r.Trailer.Get("Lambda-Runtime-Function-Error-Type"), Message: "the response stream failed"}
	case len(body) > maxResponseBytes:
		res.err = &InvokeError{Function: in.fn.name, Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponseBytes)}
	default:
		res.payload = body
	}
	inv.result <- res
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func (in *instance) invocationError(w http.ResponseWriter, r *http.Request) {
	inv := in.take(r)
	if inv == nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or already answered request id")
		return
	}
	inv.result <- invocationResult{err: readFunctionError(in.fn.name, r)}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func (in *instance) initErrorHandler(w http.ResponseWriter, r *http.Request) {
	e := readFunctionError(in.fn.name, r)
	if e.Type == "" || e.Type == "Unhandled" {
		e.Type = "Runtime.InitError"
	}
	in.mu.Lock()
	in.initError = e
	in.mu.Unlock()
	in.fn.log.Error("function failed to initialise", "instance", in.label, "error_type", e.Type, "error", e.Message)
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// readFunctionError decodes an error a runtime posts.
func readFunctionError(function string, r *http.Request) *InvokeError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	e := &InvokeError{Function: function}
	_ = json.Unmarshal(body, e)
	if t := r.Header.Get("Lambda-Runtime-Function-Error-Type"); t != "" && e.Type == "" {
		e.Type = t
	}
	if e.Type == "" {
		e.Type = "Unhandled"
	}
	if e.Message == "" {
		e.Message = string(body)
	}
	return e
}

func writeRuntimeError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(InvokeError{Type: errorType, Message: message})
}

// functionARN is the ARN a function has in the local account.
func functionARN(name string) string {
	return "arn:aws:lambda:" + localRegion + ":" + localAccountID + ":function:" + name
}

func errString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
