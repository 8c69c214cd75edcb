package models

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/internal/testutil"
)

// Architecture identity lives in this package and in data/architecture.go
// (the architecture table): every other package asks the model, or the
// architecture, what it can do (TokenLevel, SpanLevel, BiEncoder, Relex,
// Decoder, NeedsAuxTokenizer, CollatorConfig, PadsTrainBatches, ...)
// instead of naming an architecture. archIdentityUses enforces that for
// the non-test sources of the packages below: any mention of an
// architecture constant (a comparison, a switch case, a map key, an
// assignment) is reported. Tests may name architectures (they check
// which one a recipe built).
var archGuardDirs = []string{"finetune", "infer", "selftrain", "cmd", "internal", "onnx", "data", "train", "decode", "losses", "layers", "checkpoints", "dist", "bench"}

// archConstNames parses data/architecture.go and returns the names of the
// constants of type Architecture.
func archConstNames(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join("..", "data", "architecture.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		typed := false
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); ok {
				typed = id.Name == "Architecture"
			}
			if typed {
				for _, n := range vs.Names {
					names[n.Name] = true
				}
			}
		}
	}
	if len(names) != len(data.Architectures()) {
		t.Fatalf("data/architecture.go declares %d Architecture constants (%v), Architectures() lists %d", len(names), names, len(data.Architectures()))
	}
	return names
}

// archIdentityUses lists the places in one parsed file that name an
// architecture constant: qualified (models.X, data.X, through whatever
// name the file imports those packages as) or, in package data itself,
// bare (except in architecture.go, which defines them).
func archIdentityUses(fset *token.FileSet, f *ast.File, consts map[string]bool) []string {
	qual := map[string]bool{}
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		if p != "github.com/gliner-go/gliner/models" && p != "github.com/gliner-go/gliner/data" {
			continue
		}
		name := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		qual[name] = true
	}
	bare := f.Name.Name == "data" && filepath.Base(fset.Position(f.Pos()).Filename) != "architecture.go"
	var out []string
	report := func(n ast.Node, what string) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), what))
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && qual[id.Name] && consts[x.Sel.Name] {
				report(x, id.Name+"."+x.Sel.Name)
				return false
			}
		case *ast.Ident:
			if bare && consts[x.Name] {
				report(x, x.Name)
			}
		}
		return true
	})
	return out
}

func TestArchitectureIdentityStaysInModels(t *testing.T) {
	consts := archConstNames(t)
	var uses []string
	files := 0
	for _, dir := range archGuardDirs {
		root := filepath.Join("..", dir)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			files++
			uses = append(uses, archIdentityUses(fset, f, consts)...)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", root, err)
		}
	}
	if files < 50 {
		t.Fatalf("only %d source files checked under %v: the walk is not seeing the repository", files, archGuardDirs)
	}
	sort.Strings(uses)
	for _, u := range uses {
		t.Errorf("architecture named outside models/ (ask the model or the architecture what it can do instead): %s", u)
	}
}

// TestArchIdentityUsesCatches checks the checker on sources that compare,
// switch on and branch by architectures, and on ones that only ask
// capabilities.
func TestArchIdentityUsesCatches(t *testing.T) {
	consts := archConstNames(t)
	cases := []struct {
		name, src string
		want      int
	}{
		{"compare", `package p
import "github.com/gliner-go/gliner/models"
func f(m *models.Model) bool { return m.Arch == models.UniEncoderSpanRelex || m.Arch != models.BiEncoderToken }`, 2},
		{"switch", `package p
import gm "github.com/gliner-go/gliner/models"
func f(m *gm.Model) int {
	switch m.Arch {
	case gm.UniEncoderSpan, gm.UniEncoderToken:
		return 1
	}
	return 0
}`, 2},
		{"map key", `package p
import "github.com/gliner-go/gliner/data"
var x = map[data.Architecture]int{data.UniEncoderTokenDecoder: 1}`, 1},
		{"bare in data", `package data
func f(a Architecture) bool { return a == UniEncoderTokenDecoder }`, 1},
		{"capabilities only", `package p
import ("github.com/gliner-go/gliner/data"; "github.com/gliner-go/gliner/models")
func f(m *models.Model) bool {
	return m.Arch.Relex() || m.Arch.TokenLevel() && data.ArchitecturesThat(data.Architecture.Decoder) != ""
}`, 0},
		{"other package of the same name", `package p
import models "example.com/other/models"
var x = models.UniEncoderSpan`, 0},
	}
	for _, c := range cases {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, c.name+".go", c.src, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := archIdentityUses(fset, f, consts); len(got) != c.want {
			t.Errorf("%s: %d uses found (%v), want %d", c.name, len(got), got, c.want)
		}
	}
}

// Every architecture of the architecture table has a head, and New builds
// each fixture's architecture with the head that architecture's file
// defines.
func TestEveryArchitectureHasAHead(t *testing.T) {
	if len(archHeads) != len(data.Architectures()) {
		t.Errorf("archHeads has %d constructors for %d architectures", len(archHeads), len(data.Architectures()))
	}
	for _, a := range data.Architectures() {
		if archHeads[a] == nil {
			t.Errorf("%v has no head constructor in archHeads", a)
		}
	}
	want := map[Architecture]string{
		UniEncoderSpan:         "*models.uniSpanHead",
		UniEncoderToken:        "*models.uniTokenHead",
		BiEncoderSpan:          "*models.biSpanHead",
		BiEncoderToken:         "*models.biTokenHead",
		UniEncoderSpanDecoder:  "*models.spanDecoderHead",
		UniEncoderSpanRelex:    "*models.spanRelexHead",
		UniEncoderTokenDecoder: "*models.tokenDecoderHead",
		UniEncoderTokenRelex:   "*models.tokenRelexHead",
	}
	seen := map[Architecture]bool{}
	for _, name := range append(append([]string(nil), goldenFixtures...), relexFixture, decoderFixture, tokenDecoderFixture, tokenRelexFixture) {
		cfg, err := LoadConfig(filepath.Join(testutil.Fixture(t, name), "gliner_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		seen[m.Arch] = true
		if got := fmt.Sprintf("%T", m.head); got != want[m.Arch] {
			t.Errorf("%s: %v has head %s, want %s", name, m.Arch, got, want[m.Arch])
		}
		// The head's parts answer the capability questions.
		if (m.labelsEncoder() != nil) != m.Arch.BiEncoder() || (m.decoder() != nil) != m.Arch.Decoder() || (m.relexParts() != nil) != m.Arch.Relex() {
			t.Errorf("%s: %v: labels encoder %v, decoder %v, relation head %v; capabilities BiEncoder %v, Decoder %v, Relex %v", name, m.Arch,
				m.labelsEncoder() != nil, m.decoder() != nil, m.relexParts() != nil, m.Arch.BiEncoder(), m.Arch.Decoder(), m.Arch.Relex())
		}
	}
	if len(seen) != len(data.Architectures()) {
		t.Errorf("the fixtures cover %d of %d architectures", len(seen), len(data.Architectures()))
	}
}
