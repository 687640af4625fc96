package tracectx

import "time"

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
