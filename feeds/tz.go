package feeds

import (
	"time"
	_ "time/tzdata" // the same zone rules on every machine: quotes must not depend on the host
)

// newYork is America/New_York, the zone of US option expiries and of EOD stamps. It is
// read-only after package initialisation.
var newYork = mustLoad("America/New_York")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("feeds: embedded tzdata lacks " + name + ": " + err.Error())
	}
	return loc
}
