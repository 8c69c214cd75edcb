package deps

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoArchivedYAML: gopkg.in/yaml.v3 is archived; the project requires
// and imports its maintained successor go.yaml.in/yaml/v3 instead.
func TestNoArchivedYAML(t *testing.T) {
	const archived = "gopkg.in/" + "yaml.v3"
	root := filepath.Join("..", "..")
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var haveNew bool
	for i, l := range strings.Split(string(mod), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "require "))
		if len(f) >= 2 && f[0] == archived {
			t.Errorf("go.mod:%d requires the archived gopkg.in/yaml.v3: %q", i+1, l)
		}
		if len(f) >= 2 && f[0] == "go.yaml.in/yaml/v3" {
			haveNew = true
		}
	}
	if !haveNew {
		t.Errorf("go.mod does not require go.yaml.in/yaml/v3")
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "shared" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), `"`+archived+`"`) {
			t.Errorf("%s imports the archived gopkg.in/yaml.v3", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
