// Command gen writes the bundled sample dataset (testdata/sample): English
// sentences built from templates and name lists written for this project,
// split into words with the reference's splitter (data.SplitWords), in the
// GLiNER JSONL schema. Output is deterministic (fixed PCG seeds).
//
//	go run ./testdata/sample/gen -out testdata/sample          # regenerate
//	go run ./testdata/sample/gen -out testdata/sample -check   # verify the committed files
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gliner-go/gliner/data"
)

var slots = map[string][]string{
	"person": {
		"Maria Gonzalez", "Tom Baker", "Aisha Rahman", "Kenji Watanabe", "Lena Novak", "Samuel Okafor",
		"Priya Natarajan", "Jonas Lindqvist", "Fatima Zahra", "Diego Alvarez", "Chloé Dubois", "Wei Chen",
		"Hannah Schmidt", "Omar Haddad", "Grace Mwangi", "Lucas Moreau", "Ingrid Berg", "Rafael Costa",
		"Jordan Miles", "Eleanor Price", "Mateo Rossi", "Yuki Tanaka", "Sean O'Brien", "Anika Patel",
		"Viktor Ivanov", "Nora Jensen", "Amara Eze", "Felix Wagner", "Sofia Marques", "Daniel Cohen",
		"Ruth Adeyemi", "Paolo Ricci", "Mei Lin", "Tariq Aziz", "Clara Hoffmann", "Ibrahim Diallo",
		"Marek Kowalski", "Julia Santos", "Henrik Dahl", "Zoë Fischer",
	},
	"organization": {
		"Northwind Labs", "Bluefin Capital", "Orion Dynamics", "Bank of Lisbon", "Helix Biotech", "Kestrel Airways",
		"Mapleleaf Foods", "Quantum Forge", "Riverbend Hospital", "United Nations", "Greenfield University",
		"Solaris Energy", "Atlas Logistics", "Pioneer Motors", "Crescent Media", "Ironclad Security",
		"Lumen Pharmaceuticals", "Harbor Bank", "Vertex Robotics", "Cobalt Studios", "Summit Telecom",
		"World Health Organization", "Redwood Press", "Nimbus Cloud", "Falcon Rail", "Meridian Insurance",
		"Starling Games", "Evergreen Trust", "Polar Shipping", "Sapphire Hotels",
	},
	"location": {
		"Lisbon", "Nairobi", "Osaka", "New Delhi", "Toronto", "Buenos Aires", "Oslo", "Cape Town", "Lake Como",
		"São Paulo", "Reykjavik", "Seattle", "Marrakesh", "Kraków", "Melbourne", "Jordan", "Hamburg", "Lima",
		"the Alps", "Vancouver", "Seoul", "Dublin", "Accra", "Valencia", "Montreal", "Zürich", "Hanoi",
		"the Sahara", "Boston", "Tbilisi",
	},
	"date": {
		"March 3, 2019", "12 May 2021", "July 2018", "1998", "January 15", "the summer of 2016",
		"October 2022", "2 February 2020", "December 31, 1999", "April 2015", "2007", "9 November 2023",
		"June 21, 2011", "autumn 2019", "September 2013", "2001", "August 4, 2024", "the spring of 2010",
	},
	"product": {
		"Kindle Paperwhite", "Pixel 7", "Model S", "Aurora X2", "Nimbus Drive", "PlayStation 5", "Falcon Pro laptop",
		"Zephyr e-bike", "Helix-9 vaccine", "Orion Watch", "Quantum Q1 chip", "SolarMax panel", "Echo Buds",
		"Starling Racer", "Atlas Tracker", "Cobalt Camera", "Vertex V3 robot", "Lumen Lamp", "Sapphire Card",
		"Redwood Reader",
	},
	"event": {
		"World Cup", "Berlin Marathon", "Tokyo Olympics", "Cannes Film Festival", "Web Summit", "Climate Summit",
		"Nobel Prize ceremony", "Chess Olympiad", "Winter Games", "Book Fair", "Jazz Festival", "Robotics Expo",
		"Tour de France", "Hackathon Finals", "Eurovision Song Contest", "Open Data Week",
	},
}

// Short slot names used in the templates.
var slotNames = map[string]string{"P": "person", "P2": "person", "O": "organization", "O2": "organization",
	"L": "location", "L2": "location", "D": "date", "R": "product", "E": "event"}

var templates = []string{
	"{P} joined {O} in {D} .",
	"{P} , the chief executive of {O} , spoke in {L} on Tuesday .",
	"{O} announced the {R} at the {E} in {L} .",
	"The {E} was held in {L} in {D} .",
	"In {D} , {P} moved from {L} to {L2} .",
	"{P} met {P2} at the {E} .",
	"Shares of {O} rose after the launch of the {R} .",
	"According to {P} , {O} will open an office in {L} next year .",
	"{O} and {O2} signed a partnership in {D} .",
	"The {R} went on sale in {L} on {D} .",
	"{P} won the gold medal at the {E} .",
	"Analysts at {O} expect the {R} to sell well in {L} .",
	"Born in {L} , {P} studied economics before joining {O} .",
	"The report by {O} was published in {D} .",
	"{P} criticized the design of the {R} .",
	"Tickets for the {E} sold out within an hour .",
	"Rain delayed the opening of the {E} in {L} .",
	"{O} hired {P} as its new director .",
	"Yesterday {P} said the weather in {L} was perfect .",
	"The new bridge in {L} was finished in {D} .",
	"Why did {O} cancel the {R} ?",
	"{P} and {P2} founded {O} in {L} in {D} .",
	"The museum in {L} hosts the {E} every year .",
	"Reviewers praised the battery of the {R} .",
	"{O} moved its headquarters from {L} to {L2} .",
	"On {D} , {O} recalled thousands of units of the {R} .",
	"\"We are proud of the {R} ,\" said {P} of {O} .",
	"{P} traveled to {L} for the {E} .",
	"Nobody expected {O} to buy {O2} .",
	"The team trained in {L} for months before the {E} .",
	"Sales of the {R} doubled after {D} .",
	"{P} , who grew up in {L} , now works for {O} .",
	"Flights to {L} were cancelled during the {E} .",
	"{O} sponsors the {E} .",
	"Last year the company cut prices on every product .",
	"The committee will meet again next month .",
	"Most visitors arrive by train .",
	"{P} wrote a book about {L} .",
	"During the {E} , {P} presented the {R} .",
	"{O} opened a factory near {L} in {D} , employing {N} people .",
	"Engineers at {O} built the {R} in {N} weeks .",
	"{P} became mayor of {L} in {D} .",
	"The {R} by {O} costs {N} dollars .",
	"Jordan Park is a quiet street in {L} .",
	"{P} returned to {L} after the {E} ended .",
}

// Relation templates: each slot may carry a relation to another slot.
type relTemplate struct {
	text string
	rels [][3]string // head slot, tail slot, relation type
}

var relTemplates = []relTemplate{
	{"{P} works for {O} .", [][3]string{{"P", "O", "works for"}}},
	{"{P} founded {O} in {L} .", [][3]string{{"P", "O", "founder of"}, {"O", "L", "located in"}}},
	{"{O} is headquartered in {L} .", [][3]string{{"O", "L", "located in"}}},
	{"{O} released the {R} in {D} .", [][3]string{{"O", "R", "produces"}}},
	{"The {E} took place in {L} .", [][3]string{{"E", "L", "held in"}}},
	{"{P} , an engineer at {O} , designed the {R} .", [][3]string{{"P", "O", "works for"}, {"O", "R", "produces"}}},
	{"{P} lives in {L} and works for {O} .", [][3]string{{"P", "L", "lives in"}, {"P", "O", "works for"}}},
	{"{O} , based in {L} , makes the {R} .", [][3]string{{"O", "L", "located in"}, {"O", "R", "produces"}}},
}

type slotFill struct {
	name       string
	start, end int // code points
	label      string
}

// fill renders a template, returning the text and the entity per slot.
func fill(rng *rand.Rand, tmpl string) (string, []slotFill) {
	var b strings.Builder
	var fills []slotFill
	used := map[string]string{}
	pos := 0
	for tmpl != "" {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			break
		}
		b.WriteString(tmpl[:i])
		pos += len([]rune(tmpl[:i]))
		j := strings.IndexByte(tmpl, '}')
		slot := tmpl[i+1 : j]
		tmpl = tmpl[j+1:]
		if slot == "N" {
			n := fmt.Sprint(rng.IntN(990) + 10)
			b.WriteString(n)
			pos += len(n)
			continue
		}
		label := slotNames[slot]
		list := slots[label]
		var v string
		for {
			v = list[rng.IntN(len(list))]
			if !usedValue(used, v) {
				break
			}
		}
		used[slot] = v
		b.WriteString(v)
		fills = append(fills, slotFill{name: slot, start: pos, end: pos + len([]rune(v)), label: label})
		pos += len([]rune(v))
	}
	return b.String(), fills
}

func usedValue(used map[string]string, v string) bool {
	for _, u := range used {
		if u == v {
			return true
		}
	}
	return false
}

// tidy removes the spaces the templates put before punctuation, keeping the
// entity offsets right, so texts read naturally.
func tidy(text string, fills []slotFill) (string, []slotFill) {
	runes := []rune(text)
	var out []rune
	shift := make([]int, len(runes)+1)
	removed := 0
	for i, r := range runes {
		shift[i] = removed
		if r == ' ' && i+1 < len(runes) && strings.ContainsRune(".,?", runes[i+1]) {
			removed++
			continue
		}
		if r == ' ' && i+1 < len(runes) && runes[i+1] == '"' && i > 0 && runes[i-1] == ',' {
			removed++
			continue
		}
		out = append(out, r)
	}
	shift[len(runes)] = removed
	for k := range fills {
		fills[k].start -= shift[fills[k].start]
		fills[k].end -= shift[fills[k].end]
	}
	return string(out), fills
}

func toExample(text string, fills []slotFill, rels [][3]string) (data.Example, error) {
	rec := data.TextRecord{Text: text}
	for _, f := range fills {
		rec.Entities = append(rec.Entities, data.TextEntity{Start: f.start, End: f.end, Label: f.label})
	}
	ex, err := data.FromTextRecord(rec)
	if err != nil {
		return ex, fmt.Errorf("%q: %w", text, err)
	}
	idx := map[string]int{}
	for i, f := range fills {
		idx[f.name] = i
	}
	for _, r := range rels {
		ex.Relations = append(ex.Relations, data.Relation{Head: idx[r[0]], Tail: idx[r[1]], Label: r[2]})
	}
	// The reference's schema: entities sorted by (start, end); relation
	// indices follow them.
	order := make([]int, len(ex.Entities))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ea, eb := ex.Entities[order[a]], ex.Entities[order[b]]
		return ea.Start < eb.Start || ea.Start == eb.Start && ea.End < eb.End
	})
	newIdx := make([]int, len(order))
	ents := make([]data.Entity, len(order))
	for n, o := range order {
		newIdx[o] = n
		ents[n] = ex.Entities[o]
	}
	ex.Entities = ents
	for i := range ex.Relations {
		ex.Relations[i].Head, ex.Relations[i].Tail = newIdx[ex.Relations[i].Head], newIdx[ex.Relations[i].Tail]
	}
	ex.Text, ex.CharStarts, ex.CharEnds = "", nil, nil
	return ex, nil
}

func jsonl(exs []data.Example) ([]byte, error) {
	var b bytes.Buffer
	w := data.NewJSONLWriter(&b)
	for _, ex := range exs {
		if err := w.Write(ex); err != nil {
			return nil, err
		}
	}
	err := w.Close()
	return b.Bytes(), err
}

func labelCounts(exs []data.Example) (ents, rels map[string]int) {
	ents, rels = map[string]int{}, map[string]int{}
	for _, ex := range exs {
		for _, e := range ex.Entities {
			ents[e.Label]++
		}
		for _, r := range ex.Relations {
			rels[r.Label]++
		}
	}
	return
}

func table(title string, counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := "| " + title + " | count |\n|---|---|\n"
	for _, k := range keys {
		s += fmt.Sprintf("| %s | %d |\n", k, counts[k])
	}
	return s
}

func generate() (map[string][]byte, error) {
	files := map[string][]byte{}
	const nNER, nRel, nCorpus = 400, 120, 200

	rng := rand.New(rand.NewPCG(2024, 1))
	var ner []data.Example
	for i := 0; i < nNER; i++ {
		tmpl := templates[i%len(templates)]
		if i >= len(templates) {
			tmpl = templates[rng.IntN(len(templates))]
		}
		text, fills := tidy(fill(rng, tmpl))
		ex, err := toExample(text, fills, nil)
		if err != nil {
			return nil, err
		}
		ner = append(ner, ex)
	}
	rng.Shuffle(len(ner), func(i, j int) { ner[i], ner[j] = ner[j], ner[i] })
	train, dev := ner[:nNER*4/5], ner[nNER*4/5:]

	rng = rand.New(rand.NewPCG(2024, 2))
	var rel []data.Example
	for i := 0; i < nRel; i++ {
		t := relTemplates[i%len(relTemplates)]
		text, fills := tidy(fill(rng, t.text))
		ex, err := toExample(text, fills, t.rels)
		if err != nil {
			return nil, err
		}
		rel = append(rel, ex)
	}
	rng.Shuffle(len(rel), func(i, j int) { rel[i], rel[j] = rel[j], rel[i] })
	relTrain, relDev := rel[:nRel*4/5], rel[nRel*4/5:]

	rng = rand.New(rand.NewPCG(2024, 3))
	var corpus strings.Builder
	for i := 0; i < nCorpus; i++ {
		// Two sentences per document, from both template sets.
		a, _ := tidy(fill(rng, templates[rng.IntN(len(templates))]))
		b, _ := tidy(fill(rng, relTemplates[rng.IntN(len(relTemplates))].text))
		corpus.WriteString(a + " " + b + "\n")
	}
	files["corpus.txt"] = []byte(corpus.String())

	for name, exs := range map[string][]data.Example{"train.jsonl": train, "dev.jsonl": dev,
		"train_relex.jsonl": relTrain, "dev_relex.jsonl": relDev} {
		b, err := jsonl(exs)
		if err != nil {
			return nil, err
		}
		files[name] = b
	}

	trainEnts, _ := labelCounts(train)
	devEnts, _ := labelCounts(dev)
	relEnts, relRels := labelCounts(rel)
	words := 0
	for _, ex := range ner {
		words += len(ex.Words)
	}
	readme := fmt.Sprintf(`# Sample dataset

Synthetic English sentences for tests, examples and quick training runs. Everything here is
written by `+"`gen/main.go`"+` from templates and name lists made up for this project (no external
corpus): each template has slots such as {P} (person) or {O} (organization) filled at random
from the lists, with a fixed PCG seed, so the files are reproducible:

    go run ./testdata/sample/gen -out testdata/sample          # regenerate
    go run ./testdata/sample/gen -out testdata/sample -check   # verify these files

Texts are split into words with the reference's splitter (data.SplitWords); entity character
offsets are mapped to inclusive word spans (data.FromTextRecord) and entities are sorted by
(start, end). Templates vary the sentence shape (entity first / last / inside clauses,
questions, quotes, sentences without entities, numbers that are not entities, a person and a
location named "Jordan", "Jordan Park" left unlabelled), so the task is learnable but not
trivial.

## Files

- train.jsonl (%d examples) and dev.jsonl (%d): NER in the GLiNER schema
  {"tokenized_text", "ner"}; %d sentences, %d words in all. Labels: person, organization,
  location, date, product, event.
- train_relex.jsonl (%d) and dev_relex.jsonl (%d): a small relation-extraction variant with
  "relations" ([head, tail, type], indices into "ner").
- corpus.txt (%d lines): raw text, one two-sentence document per line, no labels, for
  self-training.

## Entity counts

%s
%s
## Relation variant (train + dev)

%s
%s`, len(train), len(dev), nNER, words, len(relTrain), len(relDev), nCorpus,
		table("label (train)", trainEnts), table("label (dev)", devEnts), table("entity label", relEnts), table("relation", relRels))
	files["README.md"] = []byte(readme)
	return files, nil
}

func main() {
	out := flag.String("out", ".", "folder to write into")
	check := flag.Bool("check", false, "compare with the files in -out instead of writing")
	flag.Parse()
	files, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	bad := 0
	for _, n := range names {
		path := filepath.Join(*out, n)
		if *check {
			old, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(old, files[n]) {
				fmt.Fprintf(os.Stderr, "gen: %s differs from the generator's output\n", path)
				bad++
			}
			continue
		}
		if err := os.WriteFile(path, files[n], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}
