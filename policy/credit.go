package policy

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// Credit are the rules of household inspections, the village boards and
// credit points (docs/API.md v1.6, issue 16 part 5). The zero value is
// valid and means none of it: no inspection items (inspections are
// refused), no rules (only points given by hand), no levels.
type Credit struct {
	// Items are what a monthly inspection scores, in the order forms show
	// them (庭院卫生, 垃圾分类, ...).
	Items []InspectionItem `json:"items"`
	// RedSize is how many households make the red board (红榜): those
	// placed 1 to RedSize by total score, ties included. Zero: no red board.
	RedSize int `json:"red_size"`
	// BlackSize is how many make the black board (黑榜), counted from the
	// bottom, ties included, never a household of the red board.
	BlackSize int `json:"black_size"`
	// Rules are the credit rules: each a reason points are given for.
	Rules []CreditRule `json:"rules"`
	// RedRule and BlackRule are the rules a place on the red or black
	// board earns when the month's board is published ("": none).
	RedRule   string `json:"red_rule,omitempty"`
	BlackRule string `json:"black_rule,omitempty"`
	// Levels are the credit levels (AAA, AA, ...) for the bank's
	// village-wide credit programme, highest first: a household has the
	// first level whose Min its balance reaches, or the last one.
	Levels []CreditLevel `json:"levels"`
}

// InspectionItem is one thing an inspection scores, from 0 to Max.
type InspectionItem struct {
	ID     string `json:"id"`
	NameZh string `json:"name_zh"`
	NameEn string `json:"name_en"`
	Max    int    `json:"max"`
}

// CreditRule is a reason for credit points and how many (negative: taken).
type CreditRule struct {
	ID     string `json:"id"`
	NameZh string `json:"name_zh"`
	NameEn string `json:"name_en"`
	Points int    `json:"points"`
}

// CreditLevel is a credit level and the balance it starts at.
type CreditLevel struct {
	Name string `json:"name"`
	Min  int    `json:"min"`
}

// Bounds of the credit rules.
const (
	MaxItemScore  = 1000 // an inspection item's max
	MaxRulePoints = 1000 // a rule's points, either way
	MaxBoardSize  = 1000 // red_size, black_size
)

// The rule ids of DefaultCredit.
const (
	RuleRedBoard     = "red_board"
	RuleBlackBoard   = "black_board"
	RuleVillageKept  = "village_rules_kept"
	RuleVillageBroke = "village_rules_broken"
	RuleGoodDeed     = "good_deed"
	RuleReportHelped = "report_helped"
)

// DefaultCredit is the credit policy of Default: the county's two items,
// red and black boards of five, its rules and the bank's five levels.
func DefaultCredit() Credit {
	return Credit{
		Items: []InspectionItem{
			{ID: "yard_hygiene", NameZh: "庭院卫生", NameEn: "Yard hygiene", Max: 50},
			{ID: "garbage_sorting", NameZh: "垃圾分类", NameEn: "Garbage sorting", Max: 50},
		},
		RedSize:   5,
		BlackSize: 5,
		Rules: []CreditRule{
			{ID: RuleRedBoard, NameZh: "上红榜", NameEn: "On the red board", Points: 10},
			{ID: RuleBlackBoard, NameZh: "上黑榜", NameEn: "On the black board", Points: -10},
			{ID: RuleVillageKept, NameZh: "遵守村规民约", NameEn: "Village rules kept", Points: 5},
			{ID: RuleVillageBroke, NameZh: "违反村规民约", NameEn: "Village rules broken", Points: -10},
			{ID: RuleGoodDeed, NameZh: "好人好事", NameEn: "Good deed confirmed", Points: 10},
			{ID: RuleReportHelped, NameZh: "有效报告", NameEn: "A report that helped", Points: 5},
		},
		RedRule:   RuleRedBoard,
		BlackRule: RuleBlackBoard,
		Levels: []CreditLevel{
			{Name: "AAA", Min: 100}, {Name: "AA", Min: 60}, {Name: "A", Min: 30}, {Name: "B", Min: 0}, {Name: "C", Min: -1000000},
		},
	}
}

// Item returns the inspection item id.
func (c *Credit) Item(id string) (InspectionItem, bool) {
	i := slices.IndexFunc(c.Items, func(it InspectionItem) bool { return it.ID == id })
	if i < 0 {
		return InspectionItem{}, false
	}
	return c.Items[i], true
}

// Rule returns the credit rule id.
func (c *Credit) Rule(id string) (CreditRule, bool) {
	i := slices.IndexFunc(c.Rules, func(r CreditRule) bool { return r.ID == id })
	if i < 0 {
		return CreditRule{}, false
	}
	return c.Rules[i], true
}

// Level is the credit level of a balance: the first level whose Min it
// reaches, else the last; "" when there are no levels.
func (c *Credit) Level(balance int) string {
	for _, l := range c.Levels {
		if balance >= l.Min {
			return l.Name
		}
	}
	if len(c.Levels) == 0 {
		return ""
	}
	return c.Levels[len(c.Levels)-1].Name
}

// label checks a human name of the credit policy (1 to 50 characters).
func (v *validator) label(field, s string) {
	if s == "" || utf8.RuneCountInString(s) > 50 || !utf8.ValidString(s) {
		v.add(field, "must be 1 to 50 characters")
	}
}

func (v *validator) credit(c *Credit) {
	for i, it := range c.Items {
		f := fmt.Sprintf("credit.items[%d]", i)
		if !validName(it.ID) {
			v.add(f+".id", "%q %s", it.ID, nameRule)
		} else if slices.ContainsFunc(c.Items[:i], func(o InspectionItem) bool { return o.ID == it.ID }) {
			v.add(f+".id", "%q is listed twice", it.ID)
		}
		v.label(f+".name_zh", it.NameZh)
		v.label(f+".name_en", it.NameEn)
		if it.Max < 1 || it.Max > MaxItemScore {
			v.add(f+".max", "must be 1 to %d, got %d", MaxItemScore, it.Max)
		}
	}
	if len(c.Items) > 50 {
		v.add("credit.items", "at most 50 items")
	}
	if c.RedSize < 0 || c.RedSize > MaxBoardSize {
		v.add("credit.red_size", "must be 0 to %d, got %d", MaxBoardSize, c.RedSize)
	}
	if c.BlackSize < 0 || c.BlackSize > MaxBoardSize {
		v.add("credit.black_size", "must be 0 to %d, got %d", MaxBoardSize, c.BlackSize)
	}
	for i, r := range c.Rules {
		f := fmt.Sprintf("credit.rules[%d]", i)
		if !validName(r.ID) {
			v.add(f+".id", "%q %s", r.ID, nameRule)
		} else if slices.ContainsFunc(c.Rules[:i], func(o CreditRule) bool { return o.ID == r.ID }) {
			v.add(f+".id", "%q is listed twice", r.ID)
		}
		v.label(f+".name_zh", r.NameZh)
		v.label(f+".name_en", r.NameEn)
		if r.Points == 0 || r.Points < -MaxRulePoints || r.Points > MaxRulePoints {
			v.add(f+".points", "must be -%d to %d and not 0, got %d", MaxRulePoints, MaxRulePoints, r.Points)
		}
	}
	for _, br := range []struct{ field, id string }{{"credit.red_rule", c.RedRule}, {"credit.black_rule", c.BlackRule}} {
		if _, ok := c.Rule(br.id); br.id != "" && !ok {
			v.add(br.field, "%q is not one of credit.rules", br.id)
		}
	}
	for i, l := range c.Levels {
		f := fmt.Sprintf("credit.levels[%d]", i)
		if l.Name == "" || len(l.Name) > 16 || !utf8.ValidString(l.Name) {
			v.add(f+".name", "must be 1 to 16 bytes")
		} else if slices.ContainsFunc(c.Levels[:i], func(o CreditLevel) bool { return o.Name == l.Name }) {
			v.add(f+".name", "%q is listed twice", l.Name)
		}
		if i > 0 && l.Min >= c.Levels[i-1].Min {
			v.add(f+".min", "must be below the level before (%d), got %d", c.Levels[i-1].Min, l.Min)
		}
	}
}
