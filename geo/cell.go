package geo

import (
	"errors"
	"fmt"
	"strconv"

	h3 "github.com/uber/h3-go/v4"
)

// ErrInvalidCell is returned (wrapped) by ParseCell.
var ErrInvalidCell = errors.New("geo: invalid H3 cell")

// ParseCell parses and validates an H3 cell string: 1 to 16 hexadecimal
// digits (any case, no prefix or sign) naming a valid cell. Unlike
// h3.IndexFromString it never ignores a parse error, so an untrusted string
// cannot turn into some unrelated cell.
func ParseCell(s string) (h3.Cell, error) {
	if len(s) == 0 || len(s) > 16 {
		return 0, fmt.Errorf("%w: %q must be 1 to 16 hex digits", ErrInvalidCell, s)
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not hexadecimal", ErrInvalidCell, s)
	}
	c := h3.Cell(v)
	if !c.IsValid() {
		return 0, fmt.Errorf("%w: %q is not a cell index", ErrInvalidCell, s)
	}
	return c, nil
}
