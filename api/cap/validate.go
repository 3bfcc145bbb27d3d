package cap

import (
	"math"
	"strconv"
	"strings"
	"time"
)

const required = "is required"

// Validate checks what the CAP 1.2 standard requires of a message, so that
// a valid Alert can be written as a schema-valid document: the required
// elements (identifier, sender, sent, status, msgType, scope; in each info
// category, event, urgency, severity, certainty; resourceDesc and mimeType;
// areaDesc), the enumerations, identifiers and senders without spaces,
// commas, "<" or "&" (references are comma separated), xs:language tags,
// times that fit the schema, polygons of at least 4 points whose first and
// last are equal, circles with a radius of at least 0 km, and coordinates in
// range. The first problem is returned as an *ElementError.
//
// Validate does not check what depends on the hub: whether an Update has
// references, whether polygons are simple, or whether a status is one the
// hub takes.
func (a *Alert) Validate() error {
	var r reader
	r.checkID("identifier", a.Identifier)
	r.checkID("sender", a.Sender)
	r.checkTime("sent", a.Sent, true)
	r.enum("status", string(a.Status), a.Status.valid(), "Actual, Exercise, System, Test, Draft")
	r.enum("msgType", string(a.MsgType), a.MsgType.valid(), "Alert, Update, Cancel, Ack, Error")
	r.enum("scope", string(a.Scope), a.Scope.valid(), "Public, Restricted, Private")
	for i, ref := range a.References {
		el := "references"
		entry := "entry " + strconv.Itoa(i) + " "
		switch {
		case !validID(ref.Sender):
			r.fail(el, entry+"sender "+idRule)
		case !validID(ref.Identifier):
			r.fail(el, entry+"identifier "+idRule)
		case ref.Sent.IsZero():
			r.fail(el, entry+"sent "+required)
		case checkTime(ref.Sent) != "":
			r.fail(el, entry+"sent: "+checkTime(ref.Sent))
		}
	}
	for i := range a.Infos {
		a.Infos[i].check(&r, "info["+strconv.Itoa(i)+"]")
	}
	if r.err != nil {
		return r.err
	}
	return nil
}

func (in *Info) check(r *reader, el string) {
	if in.Language != "" && !validLanguage(in.Language) {
		r.fail(el+".language", strconv.Quote(clip(in.Language))+` is not a language tag like "zh-CN"`)
	}
	if len(in.Categories) == 0 {
		r.fail(el+".category", required)
	}
	for j, c := range in.Categories {
		r.enum(el+".category["+strconv.Itoa(j)+"]", string(c), c.valid(),
			"Geo, Met, Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, Other")
	}
	if in.Event == "" {
		r.fail(el+".event", required)
	}
	for j, t := range in.ResponseTypes {
		r.enum(el+".responseType["+strconv.Itoa(j)+"]", string(t), t.valid(),
			"Shelter, Evacuate, Prepare, Execute, Avoid, Monitor, Assess, AllClear, None")
	}
	r.enum(el+".urgency", string(in.Urgency), in.Urgency.valid(), "Immediate, Expected, Future, Past, Unknown")
	r.enum(el+".severity", string(in.Severity), in.Severity.valid(), "Extreme, Severe, Moderate, Minor, Unknown")
	r.enum(el+".certainty", string(in.Certainty), in.Certainty.valid(),
		"Observed, Likely, Possible, Unlikely, Unknown (1.1: Very Likely)")
	r.checkTime(el+".effective", in.Effective, false)
	r.checkTime(el+".onset", in.Onset, false)
	r.checkTime(el+".expires", in.Expires, false)
	for j, res := range in.Resources {
		rel := el + ".resource[" + strconv.Itoa(j) + "]"
		switch {
		case res.ResourceDesc == "":
			r.fail(rel+".resourceDesc", required)
		case res.MimeType == "":
			r.fail(rel+".mimeType", required)
		case res.Size < 0:
			r.fail(rel+".size", "must not be negative")
		}
	}
	for j := range in.Areas {
		in.Areas[j].check(r, el+".area["+strconv.Itoa(j)+"]")
	}
}

func (ar *Area) check(r *reader, el string) {
	if ar.AreaDesc == "" {
		r.fail(el+".areaDesc", required)
	}
	for k, p := range ar.Polygons {
		pel := el + ".polygon[" + strconv.Itoa(k) + "]"
		if len(p) < 4 {
			r.fail(pel, "has "+strconv.Itoa(len(p))+` points; a polygon needs at least 4 "lat,lon" pairs, the last equal to the first`)
			continue
		}
		if p[0] != p[len(p)-1] {
			r.fail(pel, "is not closed: the last point must equal the first")
		}
		for n, pt := range p {
			if problem := latLonProblem(pt[0], pt[1]); problem != "" {
				r.fail(pel, "point "+strconv.Itoa(n)+": "+problem)
				break
			}
		}
	}
	for k, c := range ar.Circles {
		cel := el + ".circle[" + strconv.Itoa(k) + "]"
		if problem := latLonProblem(c.Lat, c.Lon); problem != "" {
			r.fail(cel, "centre: "+problem)
		} else if !(c.RadiusKm >= 0) || math.IsInf(c.RadiusKm, 1) {
			r.fail(cel, "radius must be a number of kilometres, 0 or more")
		}
	}
	if ar.Altitude != nil && !finite(*ar.Altitude) {
		r.fail(el+".altitude", "must be a number")
	}
	if ar.Ceiling != nil && !finite(*ar.Ceiling) {
		r.fail(el+".ceiling", "must be a number")
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func latLonProblem(lat, lon float64) string {
	switch {
	case !(lat >= -90 && lat <= 90):
		return "latitude " + formatDecimal(lat) + " is not in [-90, 90]"
	case !(lon >= -180 && lon <= 180):
		return "longitude " + formatDecimal(lon) + " is not in [-180, 180]"
	}
	return ""
}

const idRule = "must be non-empty, without spaces, commas, < or &"

// validID: CAP 1.2 section 3.2.1 forbids spaces, commas and the restricted
// characters < and & in identifier and sender; references rely on it.
func validID(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(c rune) bool {
		return c == ',' || c == '<' || c == '&' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			c == '\u00a0' || c == '\u3000'
	})
}

func (r *reader) checkID(el, s string) {
	switch {
	case s == "":
		r.fail(el, required)
	case !validID(s):
		r.fail(el, strconv.Quote(clip(s))+" "+idRule)
	}
}

func (r *reader) checkTime(el string, t time.Time, req bool) {
	if t.IsZero() {
		if req {
			r.fail(el, required)
		}
		return
	}
	if problem := checkTime(t); problem != "" {
		r.fail(el, problem)
	}
}

func (r *reader) enum(el, v string, ok bool, values string) {
	switch {
	case v == "":
		r.fail(el, required)
	case !ok:
		r.fail(el, strconv.Quote(clip(v))+" is not one of "+values)
	}
}

// validLanguage checks xs:language: [a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*.
func validLanguage(s string) bool {
	for i, part := range strings.Split(s, "-") {
		if len(part) < 1 || len(part) > 8 {
			return false
		}
		for _, c := range []byte(part) {
			alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !alpha && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}
