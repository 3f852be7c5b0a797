package sweep_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"clientele/shared/fault"
	"clientele/shared/sweep"
	"clientele/shared/sweep/sweepmem"
)

// sumProcessor sums ints per segment (state: 8-byte little-endian sum and
// count) and crashes at random with probability crash.
type sumProcessor struct {
	mu      sync.Mutex
	rng     *rand.Rand
	crash   float64
	crashes int
	results map[[2]int][2]int64 // phase, segment → sum, count
}

func (p *sumProcessor) maybeCrash() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rng != nil && p.rng.Float64() < p.crash {
		p.crashes++
		return fault.New(fault.Unavailable, "injected crash")
	}
	return nil
}

func decodeSum(state []byte) (sum, n int64) {
	if len(state) == 16 {
		sum, n = int64(binary.LittleEndian.Uint64(state)), int64(binary.LittleEndian.Uint64(state[8:]))
	}
	return sum, n
}

func (p *sumProcessor) ProcessPage(_ context.Context, _ sweep.Task, state []byte, items []int) ([]byte, error) {
	if err := p.maybeCrash(); err != nil {
		return nil, err
	}
	sum, n := decodeSum(state)
	for _, v := range items {
		sum += int64(v)
		n++
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(sum))
	return binary.LittleEndian.AppendUint64(out, uint64(n)), nil
}

func (p *sumProcessor) FinishSegment(_ context.Context, t sweep.Task, state []byte) error {
	if err := p.maybeCrash(); err != nil {
		return err
	}
	sum, n := decodeSum(state)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.results == nil {
		p.results = map[[2]int][2]int64{}
	}
	p.results[[2]int{t.Phase, t.Segment}] = [2]int64{sum, n}
	return nil
}

func (p *sumProcessor) total(phase int) (sum, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.results {
		if k[0] == phase {
			sum += v[0]
			n += v[1]
		}
	}
	return sum, n
}

// memQueue delivers messages to workers, redelivering failures (and, with
// dup, every message twice).
type memQueue struct {
	ch      chan sweep.Message
	pending sync.WaitGroup
	dup     bool
}

func (q *memQueue) PublishSegments(_ context.Context, msgs []sweep.Message) error {
	for _, m := range msgs {
		copies := 1
		if q.dup {
			copies = 2
		}
		for range copies {
			q.pending.Add(1)
			q.ch <- m
		}
	}
	return nil
}

func (q *memQueue) drain(e *sweep.Engine[int], workers int) (outs []sweep.Outcome) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range q.ch {
				o, err := e.Handle(context.Background(), m)
				if err != nil {
					q.pending.Add(1)
					q.ch <- m
				} else {
					mu.Lock()
					outs = append(outs, o)
					mu.Unlock()
				}
				q.pending.Done()
			}
		}()
	}
	q.pending.Wait()
	close(q.ch)
	wg.Wait()
	return outs
}

// Random crashes everywhere, duplicated deliveries, concurrent workers,
// many seeds: every run equals the direct sum and ends each phase once.
func TestEngineWithCrashesEqualsDirect(t *testing.T) {
	t.Parallel()
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 1))
		items := make([]int, 500+rng.IntN(3000))
		var want int64
		for i := range items {
			items[i] = rng.IntN(1_000_000)
			want += int64(items[i])
		}
		p := &sumProcessor{rng: rng, crash: 0.15}
		q := &memQueue{ch: make(chan sweep.Message, 1<<16), dup: seed%2 == 0}
		var hooks atomic.Int64
		e := &sweep.Engine[int]{
			Config: sweep.Config{Kind: "sum", Phases: 2, Segments: 1 + rng.IntN(16), PageSize: int32(1 + rng.IntN(200))},
			Store:  &sweepmem.Store{}, Queue: q, Processor: p, Reader: &sweepmem.SliceReader[int]{Items: items},
			PhaseDone: func(context.Context, sweep.Run) error {
				hooks.Add(1)
				return p.maybeCrash()
			},
		}
		run, _, err := e.Start(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		outs := q.drain(e, 4)
		ended := 0
		for _, o := range outs {
			if o.EndedPhase {
				ended++
			}
		}
		got, err := e.Store.Run(context.Background(), run.Key)
		if err != nil {
			t.Fatal(err)
		}
		for ph := 1; ph <= 2; ph++ {
			if sum, n := p.total(ph); sum != want || n != int64(len(items)) {
				t.Errorf("seed %d phase %d: sum %d over %d items, want %d over %d", seed, ph, sum, n, want, len(items))
			}
		}
		if got.Status != sweep.Succeeded || ended != 2 || hooks.Load() < 2 {
			t.Errorf("seed %d: status %s, %d phase ends, %d hook runs (%d crashes)", seed, got.Status, ended, hooks.Load(), p.crashes)
		}
	}
}

func TestSliceReaderCoversEveryItemOnce(t *testing.T) {
	t.Parallel()
	items := make([]int, 103)
	for i := range items {
		items[i] = i
	}
	r := &sweepmem.SliceReader[int]{Items: items}
	seen := make([]int, len(items))
	for seg := range 7 {
		cursor := ""
		for {
			page, next, err := r.ReadPage(context.Background(), sweep.Page{Segment: seg, TotalSegments: 7, Cursor: cursor, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range page {
				seen[v]++
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	for v, n := range seen {
		if n != 1 {
			t.Errorf("item %d read %d times", v, n)
		}
	}
}

// A one-phase run that sums a table: the Processor is the only code a
// kind of run writes.
func Example() {
	items := make([]int, 1000)
	for i := range items {
		items[i] = i + 1
	}
	p := &sumProcessor{}
	q := &memQueue{ch: make(chan sweep.Message, 64)}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	e := &sweep.Engine[int]{
		Config:    sweep.Config{Kind: "sum", Segments: 8, PageSize: 50, Zone: shanghai},
		Store:     &sweepmem.Store{},
		Queue:     q,
		Processor: p,
		Reader:    &sweepmem.SliceReader[int]{Items: items},
		Now:       func() time.Time { return time.Date(2026, 12, 1, 16, 30, 0, 0, time.UTC) },
	}
	run, started, _ := e.Start(context.Background())
	_, again, _ := e.Start(context.Background())
	q.drain(e, 3)
	run, _ = e.Store.Run(context.Background(), run.Key)
	sum, n := p.total(1)
	fmt.Println(run.Key.ID(), started, again, run.Status, run.TotalSegments)
	fmt.Println(sum, n)
	// Output:
	// sum-2026-12-02 true false succeeded 8
	// 500500 1000
}
