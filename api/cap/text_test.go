package cap

import (
	"bytes"
	"encoding/xml"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// normURI's output is accepted as xs:anyURI by libxml2 (the validator the
// export is checked with) for random strings of URI pieces, and is stable.
func TestNormURIAgainstLibxml2(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint not found; install it with: apt-get install -y libxml2-utils")
	}
	const xsd = `<schema xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" elementFormDefault="qualified">
<element name="r"><complexType><sequence><element name="u" type="anyURI" maxOccurs="unbounded"/></sequence></complexType></element></schema>`
	pieces := strings.Fields(`a b 1 : / ? # [ ] @ % 2 F %2F . .. - _ ~ ! $ & ' ( ) * + , ; = http:// x 中 | \ ^ ` + "`" +
		` { } < > " :: // [::1] :80 %zz v1.x [v1.a] mailto: urn:`)
	pieces = append(pieces, " ", "\t")
	dir := t.TempDir()
	schema := filepath.Join(dir, "u.xsd")
	if err := os.WriteFile(schema, []byte(xsd), 0o600); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		var doc bytes.Buffer
		doc.WriteString(`<r xmlns="urn:t">`)
		for range 500 {
			var u strings.Builder
			for n := r.IntN(8) + 1; n > 0; n-- {
				u.WriteString(pieces[r.IntN(len(pieces))])
			}
			s := strings.TrimSpace(u.String())
			n := normURI(s)
			if again := normURI(n); again != n {
				t.Fatalf("normURI(%q) = %q, then %q", s, n, again)
			}
			doc.WriteString("<u>")
			xml.EscapeText(&doc, []byte(n))
			doc.WriteString("</u>")
		}
		doc.WriteString("</r>")
		f := filepath.Join(dir, "d.xml")
		if err := os.WriteFile(f, doc.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "--noout", "--nonet", "--schema", schema, f).CombinedOutput(); err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, out)
		}
	}
}
