package geo

import (
	"strconv"
	"strings"
)

// Limits of a union area: a CAP <area> may hold many shapes, and a feed
// may send several <area> blocks; the hub takes them as one union.
const (
	// MaxUnionParts bounds the shapes of a union.
	MaxUnionParts = 100
	// MaxUnionPoints bounds the polygon points of all its parts together.
	MaxUnionPoints = 20000
)

// checkUnion validates a union: one to MaxUnionParts parts, each exactly
// one circle or polygon, valid as that shape alone. Errors name the part
// ("area.union[2].polygon[5]").
func (a *Area) checkUnion() *FieldError {
	if len(a.Union) == 0 {
		return fieldErr("area.union", "must hold at least one circle or polygon")
	}
	if len(a.Union) > MaxUnionParts {
		return fieldErr("area.union", "at most %d shapes", MaxUnionParts)
	}
	points := 0
	for i := range a.Union {
		part := &a.Union[i]
		prefix := "area.union[" + strconv.Itoa(i) + "]"
		if part.Reach != nil || part.Villages != nil || part.Union != nil {
			return fieldErr(prefix, "must be a circle or a polygon")
		}
		if part.Circle != nil {
			c := *part.Circle // never write the caller's copy
			part.Circle = &c
		}
		if _, err := part.check(); err != nil {
			fe, ok := err.(*FieldError)
			if !ok {
				return fieldErr(prefix, "%v", err)
			}
			return &FieldError{Field: prefix + strings.TrimPrefix(fe.Field, "area"), Msg: fe.Msg}
		}
		points += len(part.Polygon)
	}
	if points > MaxUnionPoints {
		return fieldErr("area.union", "at most %d polygon points in all", MaxUnionPoints)
	}
	return nil
}

// compileUnion compiles a checked union: each part is a region of its
// own; the union contains a point any part contains.
func compileUnion(a Area) (*Region, error) {
	r := &Region{area: a, parts: make([]*Region, len(a.Union))}
	a.Union = append([]Area(nil), a.Union...)
	r.area = a
	for i, part := range a.Union {
		pr, err := Compile(part)
		if err != nil {
			return nil, err
		}
		r.parts[i] = pr
	}
	return r, nil
}

// classifyUnion places a cell relative to a union: inside when it is
// inside one part, outside when it is outside every part, and straddles
// otherwise (a cell split between two parts that together cover it is
// called straddles: its members are then tested one by one, exactly).
func (r *Region) classifyUnion(g *cellGeo) class {
	out := true
	for _, part := range r.parts {
		switch part.classify(g) {
		case inside:
			return inside
		case straddles:
			out = false
		}
	}
	if out {
		return outside
	}
	return straddles
}
