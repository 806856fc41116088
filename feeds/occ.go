package feeds

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// ErrBadOCC reports a string that is not an OCC option symbol.
var ErrBadOCC = errors.New("feeds: not an OCC option symbol")

// maxOCCStrike is the largest strike the 8-digit OCC field holds (99999.999).
const maxOCCStrike = 99999.999

// OCCSymbol returns the OCC symbol of an option without the padding of the 21-character form:
// root, expiry date as YYMMDD, C or P, and the strike in thousandths on 8 digits, e.g.
// "SPY200320P00240000". The date is taken in America/New_York (the expiry day).
func OCCSymbol(root string, expiry time.Time, right Right, strike float64) (string, error) {
	root = strings.TrimSpace(root)
	if root == "" || len(root) > 6 {
		return "", fmt.Errorf("%w: root %q must have 1 to 6 characters", ErrBadOCC, root)
	}
	if right != Call && right != Put {
		return "", fmt.Errorf("%w: bad right %v", ErrBadOCC, right)
	}
	if !(strike > 0 && strike <= maxOCCStrike) {
		return "", fmt.Errorf("%w: strike %v out of range (0, %v]", ErrBadOCC, strike, maxOCCStrike)
	}
	d := expiry.In(newYork)
	milli := int64(math.Round(strike * 1000))
	var b strings.Builder
	b.Grow(len(root) + 15)
	b.WriteString(root)
	fmt.Fprintf(&b, "%02d%02d%02d%s%08d", d.Year()%100, int(d.Month()), d.Day(), right, milli)
	return b.String(), nil
}

// ParsedOCC is the content of an OCC symbol.
type ParsedOCC struct {
	Root   string
	Expiry time.Time // 16:00 America/New_York of the expiry day, in UTC
	Right  Right
	Strike float64
}

// ParseOCC parses an OCC symbol in the compact form ("SPY200320P00240000") or the padded
// 21-character form ("SPY   200320P00240000"). Two-digit years are 20YY.
func ParseOCC(s string) (ParsedOCC, error) {
	if len(s) < 16 || len(s) > 21 {
		return ParsedOCC{}, fmt.Errorf("%w: %q has %d characters", ErrBadOCC, s, len(s))
	}
	tail := s[len(s)-15:]
	root := strings.TrimRight(s[:len(s)-15], " ")
	if root == "" || strings.ContainsAny(root, " \t") {
		return ParsedOCC{}, fmt.Errorf("%w: %q has no root", ErrBadOCC, s)
	}
	var digits [14]int
	k := 0
	for i := 0; i < 15; i++ {
		if i == 6 {
			continue
		}
		c := tail[i]
		if c < '0' || c > '9' {
			return ParsedOCC{}, fmt.Errorf("%w: %q: %q is not a digit", ErrBadOCC, s, c)
		}
		digits[k] = int(c - '0')
		k++
	}
	var r Right
	switch tail[6] {
	case 'C':
		r = Call
	case 'P':
		r = Put
	default:
		return ParsedOCC{}, fmt.Errorf("%w: %q: right %q is not C or P", ErrBadOCC, s, tail[6])
	}
	yy := digits[0]*10 + digits[1]
	mm := digits[2]*10 + digits[3]
	dd := digits[4]*10 + digits[5]
	if mm < 1 || mm > 12 || dd < 1 || dd > 31 {
		return ParsedOCC{}, fmt.Errorf("%w: %q: bad date", ErrBadOCC, s)
	}
	exp := time.Date(2000+yy, time.Month(mm), dd, 16, 0, 0, 0, newYork)
	if exp.Day() != dd {
		return ParsedOCC{}, fmt.Errorf("%w: %q: bad date", ErrBadOCC, s)
	}
	var milli int64
	for _, d := range digits[6:] {
		milli = milli*10 + int64(d)
	}
	if milli == 0 {
		return ParsedOCC{}, fmt.Errorf("%w: %q: zero strike", ErrBadOCC, s)
	}
	return ParsedOCC{Root: root, Expiry: exp.UTC(), Right: r, Strike: float64(milli) / 1000}, nil
}

// ExpiryAt returns the UTC instant of 16:00 America/New_York on the given calendar day.
func ExpiryAt(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 16, 0, 0, 0, newYork).UTC()
}
