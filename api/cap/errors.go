package cap

import "errors"

// MaxSize is the largest CAP document Parse and Decode read: 1 MiB. Real
// alerts are a few KiB; a county polygon of 1,000 points is about 25 KiB.
const MaxSize = 1 << 20

// Errors for whole documents. An HTTP handler answers ErrTooLarge with 413
// and every other error of this package with 400.
var (
	// ErrTooLarge: the document is over MaxSize bytes.
	ErrTooLarge = errors.New("cap: document over 1 MiB")
	// ErrDoctype: the document has a DOCTYPE (or any other <!...>
	// declaration, such as ENTITY). CAP needs none, and refusing them is
	// the only safe answer to entity expansion and external entities;
	// nothing is ever expanded or fetched.
	ErrDoctype = errors.New("cap: DOCTYPE and ENTITY declarations are not accepted")
	// ErrNotXML: the document is not well-formed XML (or not UTF-8).
	ErrNotXML = errors.New("cap: not XML")
	// ErrNotCAP: well-formed XML, but its root is not a CAP 1.2 or 1.1
	// <alert> (or a namespace-less <alert>).
	ErrNotCAP = errors.New("cap: not a CAP alert")
)

// ElementError is a CAP element that is missing, repeated, malformed or out
// of the standard's values. Element is its path from <alert>, with
// zero-based indexes for repeated elements: "identifier",
// "info[1].severity", "info[0].area[2].polygon[0]".
type ElementError struct {
	Element string
	Problem string
}

// Error implements error.
func (e *ElementError) Error() string { return "cap: " + e.Element + ": " + e.Problem }

func elemErr(element, problem string) *ElementError {
	return &ElementError{Element: element, Problem: problem}
}
