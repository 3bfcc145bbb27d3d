package policy

import (
	"errors"
	"testing"
)

func TestCreditLevel(t *testing.T) {
	c := DefaultCredit()
	for _, tc := range []struct {
		balance int
		want    string
	}{{150, "AAA"}, {100, "AAA"}, {99, "AA"}, {30, "A"}, {0, "B"}, {-1, "C"}, {-5000000, "C"}} {
		if got := c.Level(tc.balance); got != tc.want {
			t.Errorf("Level(%d) = %q, want %q", tc.balance, got, tc.want)
		}
	}
	if got := (&Credit{}).Level(10); got != "" {
		t.Errorf("no levels: %q", got)
	}
}

func TestCreditValidate(t *testing.T) {
	noCredit := Default()
	noCredit.Credit = Credit{}
	if err := noCredit.Validate(); err != nil {
		t.Fatalf("a policy without credit rules: %v", err)
	}
	for _, tc := range []struct {
		name  string
		mod   func(c *Credit)
		field string
	}{
		{"item id", func(c *Credit) { c.Items[0].ID = "Yard" }, "credit.items[0].id"},
		{"item twice", func(c *Credit) { c.Items[1].ID = c.Items[0].ID }, "credit.items[1].id"},
		{"item max", func(c *Credit) { c.Items[0].Max = 0 }, "credit.items[0].max"},
		{"item name", func(c *Credit) { c.Items[1].NameZh = "" }, "credit.items[1].name_zh"},
		{"red size", func(c *Credit) { c.RedSize = -1 }, "credit.red_size"},
		{"black size", func(c *Credit) { c.BlackSize = MaxBoardSize + 1 }, "credit.black_size"},
		{"rule points", func(c *Credit) { c.Rules[2].Points = 0 }, "credit.rules[2].points"},
		{"rule twice", func(c *Credit) { c.Rules[3].ID = c.Rules[2].ID }, "credit.rules[3].id"},
		{"red rule", func(c *Credit) { c.RedRule = "nope" }, "credit.red_rule"},
		{"black rule", func(c *Credit) { c.BlackRule = "nope" }, "credit.black_rule"},
		{"levels order", func(c *Credit) { c.Levels[2].Min = 70 }, "credit.levels[2].min"},
		{"level name", func(c *Credit) { c.Levels[1].Name = "" }, "credit.levels[1].name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Default()
			tc.mod(&p.Credit)
			var fe *FieldError
			if err := p.Validate(); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("Validate = %v, want a problem of %s", err, tc.field)
			}
		})
	}
}
