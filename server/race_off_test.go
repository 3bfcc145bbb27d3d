//go:build !race

package server

// raceEnabled: the race detector is on (tests size their work down).
const raceEnabled = false
