// Package phone parses phone numbers into E.164 and checks them against the
// numbering plans of Google's libphonenumber (generated into metadata.go by
// ./internal/phonegen). A number is valid when its national part has a
// possible length and matches one of its region's number types (fixed line,
// mobile, toll free, ...), as libphonenumber's IsValidNumber decides.
package phone

//go:generate sh -c "go run ./internal/phonegen > metadata.go"

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

type plan struct {
	id               string
	cc               int
	main             bool
	nationalPrefix   string
	prefixForParsing string
	transform        string
	general          string
	types            []string
	lengths          []int8
}

type compiled struct {
	general, prefix *regexp.Regexp
	types           []*regexp.Regexp
}

var (
	once    sync.Once
	byID    map[string]*plan
	byCC    map[int][]*plan
	mu      sync.Mutex
	regexes = map[*plan]*compiled{}
)

func index() {
	byID = make(map[string]*plan, len(regions))
	byCC = map[int][]*plan{}
	for i := range regions {
		p := &regions[i]
		byID[p.id] = p
		if p.main {
			byCC[p.cc] = append([]*plan{p}, byCC[p.cc]...)
		} else {
			byCC[p.cc] = append(byCC[p.cc], p)
		}
	}
}

// patterns compiles a plan's expressions on first use, keeping cold starts
// short.
func patterns(p *plan) *compiled {
	mu.Lock()
	defer mu.Unlock()
	if c, ok := regexes[p]; ok {
		return c
	}
	c := &compiled{general: regexp.MustCompile(`^(?:` + p.general + `)$`)}
	if p.prefixForParsing != "" {
		c.prefix = regexp.MustCompile(`^(?:` + p.prefixForParsing + `)`)
	}
	for _, t := range p.types {
		c.types = append(c.types, regexp.MustCompile(`^(?:`+t+`)$`))
	}
	regexes[p] = c
	return c
}

// Errors.
var (
	ErrNotANumber = errors.New("not a phone number")
	ErrInvalid    = errors.New("not a valid phone number")
	ErrRegion     = errors.New("unknown default region")
)

// Normalize parses s, written internationally (+86 138 0013 8000, or with
// 00) or nationally in defaultRegion (ISO 3166 alpha-2), and returns it in
// E.164 (+8613800138000). Spaces, dashes, dots, slashes, parentheses and
// full-width digits are accepted.
func Normalize(s, defaultRegion string) (string, error) {
	once.Do(index)
	digits, intl, err := clean(s)
	if err != nil {
		return "", err
	}
	if !intl && strings.HasPrefix(digits, "00") {
		digits, intl = digits[2:], true
	}
	if intl {
		for n := 1; n <= 3 && n < len(digits); n++ {
			cc, _ := strconv.Atoi(digits[:n])
			if plans, ok := byCC[cc]; ok {
				return validate(cc, plans, digits[n:])
			}
		}
		return "", ErrInvalid
	}
	p, ok := byID[strings.ToUpper(defaultRegion)]
	if !ok {
		return "", ErrRegion
	}
	return validate(p.cc, byCC[p.cc], digits)
}

func clean(s string) (digits string, intl bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 48 {
		return "", false, ErrNotANumber
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '+' || r == '＋':
			if i != 0 {
				return "", false, ErrNotANumber
			}
			intl = true
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case unicode.IsDigit(r):
			// Full-width and other Unicode decimal digits.
			if d := digitValue(r); d >= 0 {
				b.WriteByte(byte('0' + d))
			} else {
				return "", false, ErrNotANumber
			}
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\u00a0' || r == '　':
		default:
			return "", false, ErrNotANumber
		}
	}
	digits = b.String()
	if len(digits) < 3 || len(digits) > 17 {
		return "", false, ErrNotANumber
	}
	return digits, intl, nil
}

func digitValue(r rune) int {
	// Unicode decimal digits come in contiguous runs of ten starting at a zero.
	for z := r; z > r-10; z-- {
		if !unicode.IsDigit(z) {
			return int(r - z - 1)
		}
	}
	return -1
}

// validate tries the national number, and the national number with its
// national prefix (and carrier code) stripped, against each plan sharing
// the country code.
func validate(cc int, plans []*plan, national string) (string, error) {
	for _, p := range plans {
		for _, n := range candidates(p, national) {
			if valid(p, n) && len(strconv.Itoa(cc))+len(n) <= 15 {
				return "+" + strconv.Itoa(cc) + n, nil
			}
		}
	}
	return "", ErrInvalid
}

// candidates follows libphonenumber's maybeStripNationalPrefixAndCarrierCode:
// the stripped (or transformed) form is preferred; the original is kept as a
// fallback.
func candidates(p *plan, n string) []string {
	c := patterns(p)
	if c.prefix == nil {
		return []string{n}
	}
	loc := c.prefix.FindStringSubmatchIndex(n)
	if loc == nil {
		return []string{n}
	}
	groups := len(loc)/2 - 1
	lastGroupMatched := groups > 0 && loc[2*groups] >= 0
	if p.transform == "" || !lastGroupMatched {
		return []string{n[loc[1]:], n}
	}
	var dst []byte
	dst = c.prefix.ExpandString(dst, strings.ReplaceAll(p.transform, "$", "$"), n, loc)
	return []string{string(dst) + n[loc[1]:], n}
}

func valid(p *plan, n string) bool {
	okLen := false
	for _, l := range p.lengths {
		if int(l) == len(n) {
			okLen = true
		}
	}
	if !okLen {
		return false
	}
	c := patterns(p)
	if !c.general.MatchString(n) {
		return false
	}
	for _, t := range c.types {
		if t.MatchString(n) {
			return true
		}
	}
	return false
}
