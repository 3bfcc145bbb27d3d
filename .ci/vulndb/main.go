// Command vulndb turns the OSV files of the Go vulnerability database
// (the golang.org/x/vulndb module's data/osv, which the Go module proxy
// serves) into the database layout govulncheck reads with -db file://...
// (index/db.json, index/modules.json, ID/<id>.json). CI uses it because
// vuln.go.dev cannot be reached from these machines while the module
// proxy can.
//
//	go run .ci/vulndb/main.go -osv $(go env GOMODCACHE)/golang.org/x/vulndb@.../data/osv -out /tmp/vulndb
package main

import (
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type osv struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name      string `json:"name"`
			Ecosystem string `json:"ecosystem"`
		} `json:"package"`
		Ranges []struct {
			Type   string              `json:"type"`
			Events []map[string]string `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

func main() {
	in := flag.String("osv", "", "folder of OSV JSON files (x/vulndb's data/osv)")
	out := flag.String("out", "", "folder to write the database to")
	flag.Parse()
	if *in == "" || *out == "" {
		log.Fatal("usage: vulndb -osv DIR -out DIR")
	}
	files, err := filepath.Glob(filepath.Join(*in, "*.json"))
	if err != nil || len(files) == 0 {
		log.Fatalf("no OSV files in %s (%v)", *in, err)
	}
	if err := os.MkdirAll(filepath.Join(*out, "ID"), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(*out, "index"), 0o755); err != nil {
		log.Fatal(err)
	}
	modules := map[string]*moduleMeta{}
	var newest time.Time
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			log.Fatal(err)
		}
		var e osv
		if err := json.Unmarshal(raw, &e); err != nil {
			log.Fatalf("%s: %v", f, err)
		}
		if e.Modified.After(newest) {
			newest = e.Modified // the module's OSV files may carry none
		}
		if err := os.WriteFile(filepath.Join(*out, "ID", e.ID+".json"), raw, 0o644); err != nil {
			log.Fatal(err)
		}
		for _, a := range e.Affected {
			if a.Package.Ecosystem != "Go" {
				continue
			}
			// The latest fix: OSV lists a range's events in version
			// order, and the Go database its ranges too, so the last
			// "fixed" is the highest. govulncheck only uses it to skip
			// entries a module version is past; the entry itself decides.
			fixed := ""
			for _, r := range a.Ranges {
				for _, ev := range r.Events {
					if v, ok := ev["fixed"]; ok {
						fixed = v
					}
				}
			}
			m := modules[a.Package.Name]
			if m == nil {
				m = &moduleMeta{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: fixed})
		}
	}
	list := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return strings.Compare(list[i].Path, list[j].Path) < 0 })
	write := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	write("index/db.json", map[string]time.Time{"modified": newest})
	write("index/modules.json", list)
	log.Printf("vulndb: %d entries, %d modules", len(files), len(list))
}
