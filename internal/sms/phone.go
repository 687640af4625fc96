package sms

import (
	"errors"
	"fmt"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed for phone numbers written without a
// country code.
const DefaultRegion = "CN"

// ErrInvalidPhone reports a phone number that cannot be parsed or is not a
// valid number. Its message never contains the number.
var ErrInvalidPhone = errors.New("not a valid phone number")

// NormalizePhone parses raw, a phone number as people write it, and returns
// it in E.164 form (+8613812345678). Numbers without a country code are read
// in region (DefaultRegion when empty). Errors never echo the number.
func NormalizePhone(raw, region string) (string, error) {
	if region == "" {
		region = DefaultRegion
	}
	if raw == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidPhone)
	}
	n, err := phonenumbers.Parse(raw, region)
	if err != nil {
		// phonenumbers' messages do not contain the input, but keep only a
		// fixed description to be sure.
		return "", fmt.Errorf("%w: cannot be parsed", ErrInvalidPhone)
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", fmt.Errorf("%w: no such number range in its country", ErrInvalidPhone)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}
