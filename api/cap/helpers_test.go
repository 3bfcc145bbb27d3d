package cap

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// schemaPath is the OASIS CAP 1.2 schema, copied verbatim into testdata so
// the tests find it from the repository.
var schemaPath = filepath.Join("testdata", "CAP-v1.2.xsd")

// fixtures are the CAP documents in testdata, by file name.
func fixtures(t testing.TB) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures in testdata: %v", err)
	}
	return names
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParseFile(t testing.TB, name string) *Alert {
	t.Helper()
	a, err := Parse(readFile(t, name))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return a
}

// xmllint validates doc against the CAP 1.2 schema with xmllint. A missing
// xmllint fails the test: export validity is part of the contract.
func xmllint(t *testing.T, doc []byte) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint not found; install it with: apt-get install -y libxml2-utils")
	}
	f := filepath.Join(t.TempDir(), "alert.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--noout", "--nonet", "--schema", schemaPath, f).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint: %v\n%s\ndocument:\n%s", err, out, doc)
	}
}

// wantElementError checks that err is an *ElementError naming element (and,
// if problem is not empty, saying it).
func wantElementError(t *testing.T, err error, element, problem string) {
	t.Helper()
	var ee *ElementError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v (%T), want *ElementError for %q", err, err, element)
	}
	if ee.Element != element {
		t.Fatalf("Element = %q (%v), want %q", ee.Element, err, element)
	}
	if problem != "" && !strings.Contains(ee.Problem, problem) {
		t.Fatalf("Problem = %q, want it to say %q", ee.Problem, problem)
	}
	if !strings.Contains(err.Error(), element) {
		t.Fatalf("Error() = %q does not name %q", err.Error(), element)
	}
}

// diffAlerts returns where two alerts differ, or "". Times are equal when
// they are the same instant at whole-second precision (all the CAP 1.2
// schema can carry) written with the same offset.
func diffAlerts(a, b *Alert) string {
	return diffValue("alert", reflect.ValueOf(a), reflect.ValueOf(b))
}

var timeType = reflect.TypeFor[time.Time]()

func diffValue(path string, a, b reflect.Value) string {
	if a.Type() == timeType {
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		_, oa := ta.Zone()
		_, ob := tb.Zone()
		if !ta.Truncate(time.Second).Equal(tb.Truncate(time.Second)) || oa != ob {
			return path + ": " + ta.String() + " != " + tb.String()
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": one is nil"
			}
			return ""
		}
		return diffValue(path, a.Elem(), b.Elem())
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return path + ": lengths " + strconv.Itoa(a.Len()) + " != " + strconv.Itoa(b.Len())
		}
		for i := range a.Len() {
			if d := diffValue(path+"["+strconv.Itoa(i)+"]", a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Struct:
		for i := range a.NumField() {
			if d := diffValue(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("%s: %#v != %#v", path, a.Interface(), b.Interface())
	}
	return ""
}
