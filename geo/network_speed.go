package geo

import "math"

// ModeMotorbike is the travel mode of a motorbike or e-bike rider: a reach
// area's mode like walk, bike and drive (30 km/h as a straight line,
// ReachRadiusM; on the network, roadSpeeds).
const ModeMotorbike = "motorbike"

// mode is a travel mode as an index into the per-mode tables.
type mode uint8

const (
	mWalk mode = iota
	mBike
	mMotorbike
	mDrive
	numModes
)

// modeMask has bit m set for each mode m allowed somewhere (a road, a bridge).
type modeMask uint8

const allModes modeMask = 1<<numModes - 1

var modeNames = [numModes]string{ModeWalk, ModeBike, ModeMotorbike, ModeDrive}

func parseMode(s string) (mode, bool) {
	for m, name := range modeNames {
		if s == name {
			return mode(m), true
		}
	}
	return 0, false
}

// vehicle reports whether the mode moves only on roads; its trips begin and
// end with a walk (see Isochrone).
func (m mode) vehicle() bool { return m == mMotorbike || m == mDrive }

// speeds are km/h per mode, 0 meaning not allowed.
type speeds [numModes]float32

// roadSpeeds is the speed table, km/h by OSM highway class and mode
// (walk, bike, motorbike, drive); 0 means the mode may not use the road.
// Walking on any road is 5 km/h, cycling 15 km/h and driving on a tertiary
// road 40 km/h: the speeds of docs/API.md's straight-line reach, so the
// circle and the network agree on an open road. Faster classes are faster by
// car; paths, tracks and steps are slower. Following Chinese traffic law,
// pedestrians, bicycles and motorbikes may not use motorways (高速); paths,
// footways and cycleways are closed to motor vehicles. A *_link takes its
// class's slower link speed. Tags foot, bicycle, vehicle, motor_vehicle,
// motorcycle, motorcar and access set to "no" close a road to those modes;
// other access values are ignored (an emergency uses private roads too).
var roadSpeeds = map[string]speeds{
	//                walk bike moto drive
	"motorway":       {0, 0, 0, 80},
	"motorway_link":  {0, 0, 0, 40},
	"trunk":          {5, 15, 50, 60},
	"trunk_link":     {5, 15, 30, 40},
	"primary":        {5, 15, 45, 50},
	"primary_link":   {5, 15, 30, 35},
	"secondary":      {5, 15, 40, 45},
	"secondary_link": {5, 15, 30, 30},
	"tertiary":       {5, 15, 35, 40},
	"tertiary_link":  {5, 15, 30, 30},
	"unclassified":   {5, 15, 30, 30},
	"residential":    {5, 15, 25, 25},
	"living_street":  {5, 10, 15, 10},
	"service":        {5, 12, 20, 15},
	"road":           {5, 12, 25, 20}, // class unknown to the mapper
	"track":          {4.5, 10, 20, 15},
	"path":           {4, 8, 0, 0},
	"bridleway":      {4, 8, 0, 0},
	"footway":        {5, 8, 0, 0},
	"pedestrian":     {5, 8, 0, 0},
	"cycleway":       {5, 15, 0, 0},
	"steps":          {2, 2, 0, 0}, // a bike is carried
}

// offRoadSpeeds are the speeds across a cell no road of the mode crosses:
// walking across fields and slopes at 3 km/h, pushing a bike at 4 km/h; cars
// and motorbikes do not leave roads (their trips start and end on foot).
var offRoadSpeeds = speeds{3, 4, 0, 0}

// pace converts km/h to seconds per metre; 0 km/h is +Inf (impassable).
func pace(kmh float32) float32 {
	if kmh <= 0 {
		return float32(math.Inf(1))
	}
	return 3.6 / kmh
}

// access applies the "no" restrictions of a road's tags to its class speeds.
func (s speeds) access(tag func(string) string) speeds {
	no := func(k string) bool { return tag(k) == "no" }
	if no("access") {
		return speeds{}
	}
	if no("foot") {
		s[mWalk] = 0
	}
	if no("bicycle") || no("vehicle") {
		s[mBike] = 0
	}
	if no("motorcycle") || no("motor_vehicle") || no("vehicle") {
		s[mMotorbike] = 0
	}
	if no("motorcar") || no("motor_vehicle") || no("vehicle") {
		s[mDrive] = 0
	}
	return s
}

// modes is the set of modes allowed at these speeds.
func (s speeds) modes() modeMask {
	var mm modeMask
	for m, v := range s {
		if v > 0 {
			mm |= 1 << m
		}
	}
	return mm
}
