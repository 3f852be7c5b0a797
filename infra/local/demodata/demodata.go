// Package demodata generates the demo data `make seed` loads into a local
// Clientele through its HTTP API: members with consents and referrals, a
// history of purchases (amounts that lift some members into higher tiers),
// returns of some of those purchases, redemptions and staff adjustments.
//
// Generate is a pure function of its Config: the same seed, member count and
// dates give the same data, byte for byte, and every id a request carries
// (order ids, return ids, idempotency keys, emails, phone numbers) is derived
// from the seed, so loading the same data twice changes nothing the second
// time and two seeds do not collide.
//
// Each member draws from a random stream of its own, seeded by (seed, member
// number, stream name): adding members does not change the others, and a
// later kind of data (feedback, survey responses, ...) added on a stream of
// its own leaves every existing member's purchases as they were. To extend
// the data set, add a field to Member and fill it in Generate from
// memberStream(cfg.Seed, i, "<kind>").
package demodata

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// DefaultDays is how many days of history Generate spreads purchases over
// when Config.Days is zero: within the back-dating window the purchase
// intake accepts by default (about 90 days), so the default data loads
// against a stack with the default policy.
const DefaultDays = 80

// MaxMembers bounds Config.Members: phone numbers and emails carry a
// four-digit member number.
const MaxMembers = 9999

// Config says what to generate.
type Config struct {
	// Seed selects the data set; ids embed it ("s1-...").
	Seed uint64
	// Members is how many members to generate (1 to MaxMembers).
	Members int
	// Until is the end of the history: every purchase, return and
	// redemption happens before it. Loaders fix it once per seed (the first
	// load's day) so re-runs on later days generate the same requests.
	Until time.Time
	// Days is how far back purchases go (default DefaultDays).
	Days int
}

// Dataset is what Generate returns.
type Dataset struct {
	Config  Config
	Members []Member
}

// Member is one member's signup and history.
type Member struct {
	// Key identifies the member within the data set ("s1-m0001"): loaders
	// key their state on it and derive idempotency keys from it.
	Key string
	// Persona says how the member shops (dormant, occasional, regular,
	// loyal, vip); it drives how many purchases, and how large, it makes.
	Persona string
	Signup  Signup
	// ReferredBy is the index in Dataset.Members of the member whose
	// referral code this member signs up with, or -1. It always names an
	// earlier member.
	ReferredBy int
	// Purchases are in time order; their ids are unique in the data set.
	Purchases []Purchase
	// Returns name purchases of this member and lines of them, never more
	// units than the line had, and come after their purchase.
	Returns []Return
	// Redemptions are tried after the purchases and returns are applied,
	// in order, each while the member has the points available.
	Redemptions []Redemption
	// Adjustments are staff adjustments (goodwill credits, corrections).
	Adjustments []Adjustment
}

// Signup is the body of POST /v1/members (without referral_code, which the
// loader fills in from the referrer's signup response).
type Signup struct {
	Email          string    `json:"email,omitempty"`
	Phone          string    `json:"phone,omitempty"`
	Name           string    `json:"name,omitempty"`
	Birthday       string    `json:"birthday,omitempty"`
	PreferredStore string    `json:"preferred_store,omitempty"`
	SignupChannel  string    `json:"signup_channel"`
	Consents       []Consent `json:"consents,omitempty"`
	ReferralCode   string    `json:"referral_code,omitempty"`
}

// Consent is one consent given at signup.
type Consent struct {
	Purpose string `json:"purpose"`
	Channel string `json:"channel,omitempty"`
	Granted bool   `json:"granted"`
}

// Purchase is the body of POST /v1/purchases (without member_id, which the
// loader fills in once the member exists).
type Purchase struct {
	OrderID     string         `json:"order_id"`
	MemberID    string         `json:"member_id"`
	Store       string         `json:"store,omitempty"`
	Channel     string         `json:"channel"`
	Currency    string         `json:"currency"`
	PurchasedAt time.Time      `json:"purchased_at"`
	Lines       []PurchaseLine `json:"lines"`
}

// PurchaseLine is one line of a purchase; Amount is in minor units (fen).
type PurchaseLine struct {
	LineID   string `json:"line_id"`
	SKU      string `json:"sku"`
	Category string `json:"category"`
	Quantity int64  `json:"quantity"`
	Amount   int64  `json:"amount"`
}

// Return is the body of POST /v1/returns (without member_id).
type Return struct {
	ReturnID   string       `json:"return_id"`
	OrderID    string       `json:"order_id"`
	MemberID   string       `json:"member_id"`
	ReturnedAt time.Time    `json:"returned_at"`
	Lines      []ReturnLine `json:"lines"`
}

// ReturnLine names a purchased line and how many units came back.
type ReturnLine struct {
	LineID   string `json:"line_id"`
	Quantity int64  `json:"quantity"`
}

// Redemption is the body of POST /v1/members/{id}/points/redemptions, with
// the Idempotency-Key to send it under.
type Redemption struct {
	IdempotencyKey string `json:"-"`
	RewardID       string `json:"reward_id"`
	Cost           int64  `json:"cost"`
}

// Adjustment is the body of POST /v1/members/{id}/points/adjustments, with
// the Idempotency-Key to send it under.
type Adjustment struct {
	IdempotencyKey string `json:"-"`
	Amount         int64  `json:"amount"`
	ReasonCode     string `json:"reason_code"`
	Note           string `json:"note,omitempty"`
}

// Check reports what makes a Config unusable.
func (c Config) Check() error {
	if c.Members < 1 || c.Members > MaxMembers {
		return fmt.Errorf("members: want 1 to %d, got %d", MaxMembers, c.Members)
	}
	if c.Days < 0 || c.Days > 3660 {
		return fmt.Errorf("days: want 0 (default %d) to 3660, got %d", DefaultDays, c.Days)
	}
	if c.Until.IsZero() {
		return fmt.Errorf("until: the end of the history is required")
	}
	return nil
}

// Generate builds the data set of a Config (see Config.Check).
func Generate(cfg Config) (Dataset, error) {
	if err := cfg.Check(); err != nil {
		return Dataset{}, err
	}
	if cfg.Days == 0 {
		cfg.Days = DefaultDays
	}
	cfg.Until = cfg.Until.UTC()
	out := Dataset{Config: cfg, Members: make([]Member, cfg.Members)}
	for i := range out.Members {
		out.Members[i] = generateMember(cfg, i)
	}
	return out, nil
}

// memberStream is the random stream of one kind of data of one member.
func memberStream(seed uint64, member int, stream string) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%s", seed, member, stream)
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// persona is a way of shopping.
type persona struct {
	name string
	// weight is how common it is (out of the sum of weights).
	weight int
	// perYear is the mean number of purchases a year.
	perYear float64
	// basket scales line amounts.
	basket float64
}

var personas = []persona{
	{"dormant", 10, 0, 1},
	{"occasional", 35, 4, 1},
	{"regular", 35, 12, 1.2},
	{"loyal", 15, 40, 1.6},
	{"vip", 5, 90, 3},
}

// product is an item of the demo catalogue; prices are in fen.
type product struct {
	sku, category string
	price         int64
}

var catalogue = []product{
	{"RUN-42", "shoes", 59900}, {"RUN-PRO", "shoes", 129900}, {"TRAIL-9", "shoes", 89900}, {"COURT-1", "shoes", 49900},
	{"TEE-07", "apparel", 9950}, {"HOOD-3", "apparel", 39900}, {"JACKET-W", "apparel", 79900}, {"SHORTS-2", "apparel", 15900},
	{"SOCK-3P", "accessories", 4900}, {"CAP-11", "accessories", 12900}, {"BAG-20L", "accessories", 29900}, {"BOTTLE", "accessories", 6900},
}

var stores = []string{"SH-001", "SH-002", "BJ-001", "GZ-003", "SZ-001", "CD-002"}

var rewards = []struct {
	id   string
	cost int64
}{{"COUPON-50", 50}, {"COUPON-100", 100}, {"SOCKS-GIFT", 300}, {"VOUCHER-200", 500}, {"LOUNGE-PASS", 1500}}

var givenNames = []string{"Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Hao", "Xin", "Ting", "Jun", "Lin", "Qing", "Yu", "Chen", "Mei", "Bo"}
var familyNames = []string{"Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo"}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func pickPersona(r *rand.Rand) persona {
	total := 0
	for _, p := range personas {
		total += p.weight
	}
	n := r.IntN(total)
	for _, p := range personas {
		if n < p.weight {
			return p
		}
		n -= p.weight
	}
	return personas[len(personas)-1]
}

func generateMember(cfg Config, i int) Member {
	key := fmt.Sprintf("s%d-m%04d", cfg.Seed, i+1)
	r := memberStream(cfg.Seed, i, "member")
	p := pickPersona(r)
	m := Member{Key: key, Persona: p.name, ReferredBy: -1}
	m.Signup = generateSignup(cfg, i, r)
	if i > 0 && r.IntN(10) == 0 {
		m.ReferredBy = r.IntN(i)
	}

	hr := memberStream(cfg.Seed, i, "purchases")
	start := cfg.Until.AddDate(0, 0, -cfg.Days)
	n := poisson(hr, p.perYear*float64(cfg.Days)/365)
	times := make([]time.Time, n)
	for k := range times {
		// Shop hours, 10:00 to 22:00 in Shanghai (02:00 to 14:00 UTC).
		day := start.Truncate(24*time.Hour).AddDate(0, 0, hr.IntN(cfg.Days))
		times[k] = day.Add(2*time.Hour + time.Duration(hr.Int64N(int64(12*time.Hour))))
		if !times[k].Before(cfg.Until) {
			times[k] = cfg.Until.Add(-time.Duration(1+hr.IntN(3600)) * time.Second)
		}
	}
	slices.SortFunc(times, time.Time.Compare)
	for k, at := range times {
		m.Purchases = append(m.Purchases, generatePurchase(hr, fmt.Sprintf("%s-o%03d", key, k+1), m.Signup.PreferredStore, at, p.basket))
	}

	rr := memberStream(cfg.Seed, i, "returns")
	for _, pu := range m.Purchases {
		if rr.IntN(100) >= 12 {
			continue
		}
		l := pick(rr, pu.Lines)
		at := pu.PurchasedAt.Add(time.Duration(1+rr.IntN(13*24)) * time.Hour)
		if !at.Before(cfg.Until) {
			continue // not back yet
		}
		m.Returns = append(m.Returns, Return{
			ReturnID:   pu.OrderID + "-r1",
			OrderID:    pu.OrderID,
			ReturnedAt: at,
			Lines:      []ReturnLine{{LineID: l.LineID, Quantity: 1 + rr.Int64N(l.Quantity)}},
		})
	}

	dr := memberStream(cfg.Seed, i, "redemptions")
	if len(m.Purchases) > 0 {
		for k := range dr.IntN(1 + len(m.Purchases)/3) {
			rw := pick(dr, rewards)
			m.Redemptions = append(m.Redemptions, Redemption{IdempotencyKey: fmt.Sprintf("%s-redeem-%02d", key, k+1), RewardID: rw.id, Cost: rw.cost})
		}
	}
	ar := memberStream(cfg.Seed, i, "adjustments")
	if ar.IntN(100) < 4 {
		m.Adjustments = append(m.Adjustments, Adjustment{IdempotencyKey: key + "-adjust-01", Amount: 100 * int64(1+ar.IntN(3)),
			ReasonCode: "goodwill", Note: "demo data: late delivery"})
	}
	return m
}

func generateSignup(cfg Config, i int, r *rand.Rand) Signup {
	given, family := pick(r, givenNames), pick(r, familyNames)
	s := Signup{
		Name:           given + " " + family,
		PreferredStore: pick(r, stores),
		SignupChannel:  pick(r, []string{"app", "app", "store", "store", "online", "social"}),
	}
	// Emails and phones are unique per seed and member: the seed picks the
	// email's domain and the phone's middle digits, the member number the rest.
	if r.IntN(10) < 8 {
		s.Email = fmt.Sprintf("%s.%s.%04d@s%d.demo.example.com", given, family, i+1, cfg.Seed)
	}
	if s.Email == "" || r.IntN(2) == 0 {
		s.Phone = fmt.Sprintf("+86 139 %04d %04d", cfg.Seed%10000, i+1)
	}
	if r.IntN(10) < 7 {
		born := cfg.Until.AddDate(-18-r.IntN(50), 0, -r.IntN(365))
		s.Birthday = born.Format(time.DateOnly)
	}
	s.Consents = []Consent{
		{Purpose: "marketing", Channel: pick(r, []string{"sms", "email", "push"}), Granted: r.IntN(3) > 0},
		{Purpose: "profiling", Granted: r.IntN(2) == 0},
	}
	return s
}

func generatePurchase(r *rand.Rand, orderID, home string, at time.Time, basket float64) Purchase {
	p := Purchase{OrderID: orderID, Currency: "CNY", PurchasedAt: at}
	switch r.IntN(10) {
	case 0, 1, 2:
		p.Channel = pick(r, []string{"online", "app"})
	default:
		p.Channel = "store"
		p.Store = home
		if r.IntN(4) == 0 {
			p.Store = pick(r, stores)
		}
	}
	lines := 1 + r.IntN(3)
	used := map[string]bool{}
	for k := 0; k < lines; k++ {
		pr := pick(r, catalogue)
		if used[pr.sku] {
			continue
		}
		used[pr.sku] = true
		qty := int64(1)
		if pr.category != "shoes" && r.IntN(3) == 0 {
			qty = 2 + r.Int64N(2)
		}
		// Discounts from 0 to 30 %, larger baskets for bigger spenders.
		unit := pr.price * int64(70+r.IntN(31)) / 100
		amount := int64(float64(unit*qty) * (0.8 + basket*0.2))
		p.Lines = append(p.Lines, PurchaseLine{LineID: fmt.Sprint(len(p.Lines) + 1), SKU: pr.sku, Category: pr.category, Quantity: qty, Amount: amount})
	}
	return p
}

// poisson draws from a Poisson distribution of the given mean (Knuth's
// method for small means, a rounded normal approximation above 30).
func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		n := int(mean + r.NormFloat64()*math.Sqrt(mean) + 0.5)
		return max(0, n)
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
