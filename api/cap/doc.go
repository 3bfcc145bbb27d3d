// Package cap reads and writes OASIS Common Alerting Protocol messages: the
// format agencies exchange warnings in (CAP 1.2, OASIS Standard, 1 July
// 2010; 1.1 is read too).
//
// Parse (or Decode, from an io.Reader) turns a CAP 1.2 or 1.1 <alert> into
// an Alert holding every element of the standard, lenient where real feeds
// are and strict where a wrong reading would put a warning in the wrong
// place or time (see Parse). MarshalCAP writes an Alert as a CAP 1.2
// document valid against the OASIS schema, and Feed writes an Atom feed
// linking to such documents.
//
// The hub-specific mapping (severity, the info block for a member's
// language, body, shapes, division codes, expiry) is in plain functions
// beside the codec: HubSeverity, CAPSeverity, HubKind, Alert.Exercise,
// Alert.InfoFor, Title, Body, Alert.Shapes, Alert.DivisionCodes,
// ParseDivisionCode and Alert.ExpiresAt. The package does no I/O beyond the
// reader it is given and imports the standard library only.
package cap
