package points

import (
	"math"
	"math/bits"

	"clientele/shared/fault"
)

// The ledger's arithmetic is checked: an operation whose sums or products
// would leave int64 (or MaxPoints) is refused, never wrapped. Every helper
// reports ok=false instead of returning a wrapped value.

// addInt returns a+b, or ok=false when it overflows int64.
func addInt(a, b int64) (int64, bool) {
	s := a + b
	// Overflow iff both operands have the same sign and the sum's differs.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, false
	}
	return s, true
}

// subInt returns a−b, or ok=false when it overflows int64.
func subInt(a, b int64) (int64, bool) {
	if b == math.MinInt64 {
		if a >= 0 {
			return 0, false
		}
		return a - b, true
	}
	return addInt(a, -b)
}

// mulDiv returns ⌊a·b/c⌋ for a, b ≥ 0 and c > 0, computed on 128 bits so
// the product itself cannot overflow; ok=false on a negative operand, a
// zero divisor or a quotient beyond int64.
func mulDiv(a, b, c int64) (int64, bool) {
	if a < 0 || b < 0 || c <= 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) { // the quotient would not fit in 64 bits
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	if q > math.MaxInt64 {
		return 0, false
	}
	return int64(q), true
}

// sum adds vs with overflow checking.
func sum(vs ...int64) (int64, bool) {
	var s int64
	for _, v := range vs {
		var ok bool
		if s, ok = addInt(s, v); !ok {
			return 0, false
		}
	}
	return s, true
}

// inPoints reports whether v is a non-negative amount the ledger can hold.
func inPoints(v int64) bool { return v >= 0 && v <= MaxPoints }

// tooLarge is the refusal of an operation whose amounts the ledger cannot
// hold.
func tooLarge(field string) error {
	return fault.Field(field, "is too large: the ledger's totals would pass their bound")
}
