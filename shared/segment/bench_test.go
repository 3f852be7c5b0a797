package segment_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"clientele/shared/segment"
	"clientele/shared/segment/membergen"
)

var benchPlan = sync.OnceValues(func() (*segment.Plan, []segment.Member) {
	gen := membergen.Default(3, asOfTime)
	ms := gen.Members(0, 200_000)
	cfg := segment.DefaultConfig()
	p := segment.NewPartial(cfg)
	a := segment.AsOfTime(asOfTime)
	for i := range ms {
		p.Add(&ms[i], a)
	}
	plan, err := segment.NewPlan("bench", cfg, p)
	if err != nil {
		panic(err)
	}
	return plan, ms
})

// BenchmarkScore measures phase 2 per member: facts from timestamps, R, F,
// M, segment, tier, stage, p_alive, expected purchases (90 days and one
// year) and expected value, with fitted models. Members/s is per core.
func BenchmarkScore(b *testing.B) {
	plan, ms := benchPlan()
	if plan.Purchase.Info.Status != segment.FitOK || plan.Spend.Info.Status != segment.FitOK {
		b.Fatalf("fits fell back: %+v %+v", plan.Purchase.Info, plan.Spend.Info)
	}
	sc := segment.NewScorer(plan)
	a := segment.AsOfTime(asOfTime)
	b.Run("member", func(b *testing.B) {
		b.ReportAllocs()
		cpu := startCPU()
		i := 0
		for b.Loop() {
			_, _ = sc.Score(&ms[i%len(ms)], a)
			i++
		}
		cpu.report(b)
	})
	facts := make([]segment.Facts, len(ms))
	for i := range ms {
		facts[i] = a.Facts(&ms[i])
	}
	b.Run("facts", func(b *testing.B) {
		b.ReportAllocs()
		var r segment.Result
		cpu := startCPU()
		i := 0
		for b.Loop() {
			sc.ScoreFacts(ms[i%len(ms)].ID, facts[i%len(ms)], &r)
			i++
		}
		cpu.report(b)
	})
}

// cpuClock measures the process's CPU time (user + system) over a
// benchmark loop. The build machine's cores are shared with other jobs, so
// wall time per op overstates the cost; members per CPU-second is the
// per-core rate.
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock { return cpuClock{processCPU()} }

func (c cpuClock) report(b *testing.B) {
	used := processCPU() - c.start
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "members/wall-s")
	if used > 0 {
		b.ReportMetric(float64(b.N)/used.Seconds(), "members/cpu-s")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPhase1 measures phase 1 per member: facts, three summaries and
// the sample.
func BenchmarkPhase1(b *testing.B) {
	_, ms := benchPlan()
	a := segment.AsOfTime(asOfTime)
	p := segment.NewPartial(segment.DefaultConfig())
	b.ReportAllocs()
	cpu := startCPU()
	i := 0
	for b.Loop() {
		p.Add(&ms[i%len(ms)], a)
		i++
	}
	cpu.report(b)
}

// BenchmarkFit measures fitting both models on a 100,000-member sample.
func BenchmarkFit(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	gen := membergen.Default(9, asOfTime)
	obs := make([]segment.Observation, 0, 100_000)
	for len(obs) < 100_000 {
		T := float64(1 + rng.IntN(3*365))
		x, tx, m := membergen.Observation(rng, gen.Purchase, gen.Spend, T)
		obs = append(obs, segment.Observation{Repeat: int32(x), SpanDays: int32(tx + 0.5), AgeDays: int32(T), MeanSpend: m})
	}
	b.Run("bgnbd", func(b *testing.B) {
		cpu := processCPU()
		var f segment.BGNBDFit
		for b.Loop() {
			if f = segment.FitBGNBD(obs); f.Info.Status != segment.FitOK {
				b.Fatal(f.Info.Reason)
			}
		}
		b.ReportMetric((processCPU()-cpu).Seconds()/float64(b.N), "cpu-s/fit")
		b.ReportMetric(float64(f.Info.Evaluations), "evaluations")
	})
	b.Run("gamma-gamma", func(b *testing.B) {
		cpu := processCPU()
		var f segment.GammaGammaFit
		for b.Loop() {
			if f = segment.FitGammaGamma(obs); f.Info.Status != segment.FitOK {
				b.Fatal(f.Info.Reason)
			}
		}
		b.ReportMetric((processCPU()-cpu).Seconds()/float64(b.N), "cpu-s/fit")
		b.ReportMetric(float64(f.Info.Evaluations), "evaluations")
	})
}

// BenchmarkSummaryMemory reports the serialised size of one segment's
// partial (three summaries and the sample) and the heap it holds, by
// member count: bounded by the sketch and sample sizes, not the count.
func BenchmarkSummaryMemory(b *testing.B) {
	gen := membergen.Default(5, asOfTime)
	a := segment.AsOfTime(asOfTime)
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				p := segment.NewPartial(segment.DefaultConfig())
				for i := 0; i < n; i++ {
					m := gen.Member(i)
					p.Add(&m, a)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				sum := p.Recency.SizeBytes() + p.Frequency.SizeBytes() + p.Monetary.SizeBytes()
				all, _ := p.MarshalBinary()
				b.ReportMetric(float64(sum), "summary-bytes")
				b.ReportMetric(float64(len(all)), "partial-bytes")
				b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "heap-bytes")
				runtime.KeepAlive(p)
			}
		})
	}
}
