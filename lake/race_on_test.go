//go:build race

package lake

// raceEnabled: the race detector is on (tests keep their big cases short).
const raceEnabled = true
