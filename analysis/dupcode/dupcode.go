package dupcode

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Options are the thresholds of a finding; see the package documentation
// for why the defaults are what they are.
type Options struct {
	// MinLines is the least number of shaped lines a copy spans.
	MinLines int
	// MinTokens is the least number of tokens in a copy, counting each
	// line shape once: a repeated table row or "}" adds nothing.
	MinTokens int
}

// DefaultOptions are the thresholds make verify uses.
var DefaultOptions = Options{MinLines: 6, MinTokens: 50}

// File is one Go source file to compare; Name is how findings name it.
type File struct {
	Name string
	Src  []byte
}

// Range is a span of source lines, both ends included and 1-based.
type Range struct {
	File       string
	Start, End int
}

func (r Range) String() string { return fmt.Sprintf("%s:%d-%d", r.File, r.Start, r.End) }

// Finding is a run of lines in A with the same shape as a run in B.
type Finding struct {
	A, B Range
	// Lines counts shaped lines (not blank or comment-only); Tokens counts
	// the tokens on them, each line shape once (see Options.MinTokens).
	Lines, Tokens int
}

func (f Finding) String() string {
	return fmt.Sprintf("%s and %s: %d lines (%d tokens) of the same shape", f.A, f.B, f.Lines, f.Tokens)
}

// Scan finds copies among the Go files under root; see the package
// documentation for the files it leaves out. Findings name files by their
// slash-separated path relative to root.
func Scan(root string, opts Options) ([]Finding, error) {
	var files []File
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == root {
				return nil
			}
			name := d.Name()
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module is not ours
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, File{Name: filepath.ToSlash(rel), Src: src})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return Find(files, opts)
}

// Find finds copies among files. A file that does not parse is an error;
// a generated file is skipped.
func Find(files []File, opts Options) ([]Finding, error) {
	if opts.MinLines < 1 {
		return nil, fmt.Errorf("dupcode: MinLines must be at least 1, not %d", opts.MinLines)
	}
	shapes := map[string]int{}
	var shaped []*shapedFile
	for _, f := range files {
		sf, err := shape(f, shapes)
		if err != nil {
			return nil, err
		}
		if sf != nil {
			shaped = append(shaped, sf)
		}
	}
	return find(shaped, opts), nil
}

// line is one source line with tokens on it.
type line struct {
	shape       int // interned normalized token sequence
	tokens      int
	first, last int // source lines; last > first when a raw string spans lines
}

type shapedFile struct {
	name  string
	lines []line
}

// shape tokenizes f into lines of normalized tokens, leaving out import
// declarations. It returns nil for a generated file.
func shape(f File, shapes map[string]int) (*shapedFile, error) {
	fset := token.NewFileSet()
	af, err := parser.ParseFile(fset, f.Name, f.Src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	if ast.IsGenerated(af) {
		return nil, nil
	}
	// Byte offsets of the package clause and import declarations: every
	// file has them and import lines are all one shape (a string), so they
	// would only add noise.
	type span struct{ from, to int }
	imports := []span{{fset.Position(af.Package).Offset, fset.Position(af.Name.End()).Offset}}
	for _, d := range af.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			imports = append(imports, span{fset.Position(gd.Pos()).Offset, fset.Position(gd.End()).Offset})
		}
	}
	inImport := func(off int) bool {
		for _, s := range imports {
			if off >= s.from && off < s.to {
				return true
			}
		}
		return false
	}

	tf := token.NewFileSet().AddFile(f.Name, -1, len(f.Src))
	var s scanner.Scanner
	s.Init(tf, f.Src, nil, 0) // no comments; the file parsed, so no errors
	out := &shapedFile{name: f.Name}
	var cur []string
	curLine, curLast := 0, 0
	flush := func() {
		if len(cur) > 0 {
			key := strings.Join(cur, " ")
			id, ok := shapes[key]
			if !ok {
				id = len(shapes)
				shapes[key] = id
			}
			out.lines = append(out.lines, line{shape: id, tokens: len(cur), first: curLine, last: curLast})
		}
		cur = cur[:0]
	}
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON && lit == "\n" {
			continue // inserted at a line end: the line structure has it
		}
		if inImport(tf.Offset(pos)) {
			continue
		}
		ln := tf.Line(pos)
		if ln > curLast {
			flush()
			curLine = ln
		}
		curLast = max(curLast, ln+strings.Count(lit, "\n"))
		cur = append(cur, normalize(tok))
	}
	flush()
	return out, nil
}

// normalize maps a token to what it contributes to a line's shape.
func normalize(tok token.Token) string {
	switch tok {
	case token.IDENT:
		return "id"
	case token.STRING, token.CHAR:
		return "str"
	case token.INT, token.FLOAT, token.IMAG:
		return "num"
	}
	return tok.String()
}

type loc struct{ file, line int } // indexes into the shaped files and their lines

func find(files []*shapedFile, opts Options) []Finding {
	w := opts.MinLines
	buckets := map[uint64][]loc{}
	var order []uint64 // first-seen order keeps the output deterministic
	h := fnv.New64a()
	var buf [8]byte
	for fi, f := range files {
		for i := 0; i+w <= len(f.lines); i++ {
			win := f.lines[i : i+w]
			h.Reset()
			for _, l := range win {
				for b := range buf {
					buf[b] = byte(l.shape >> (8 * b))
				}
				h.Write(buf[:])
			}
			k := h.Sum64()
			if _, ok := buckets[k]; !ok {
				order = append(order, k)
			}
			buckets[k] = append(buckets[k], loc{fi, i})
		}
	}

	// Seeds: pairs of equal windows, grouped by the diagonal (file pair and
	// line offset) they lie on, so a long copy is reported once.
	type diagonal struct{ a, b, d int }
	seeds := map[diagonal][]int{}
	var diagonals []diagonal
	for _, k := range order {
		locs := buckets[k]
		for x := 0; x < len(locs); x++ {
			for y := x + 1; y < len(locs); y++ {
				p, q := locs[x], locs[y] // p before q: buckets fill in file, line order
				if !equal(files[p.file].lines[p.line:p.line+w], files[q.file].lines[q.line:q.line+w]) {
					continue // a hash collision
				}
				if p.file == q.file && q.line-p.line < w {
					continue // overlaps itself
				}
				dg := diagonal{p.file, q.file, q.line - p.line}
				if _, ok := seeds[dg]; !ok {
					diagonals = append(diagonals, dg)
				}
				seeds[dg] = append(seeds[dg], p.line)
			}
		}
	}

	var out []Finding
	for _, dg := range diagonals {
		a, b := files[dg.a].lines, files[dg.b].lines
		starts := seeds[dg]
		sort.Ints(starts)
		covered := -1 // last line index of A already reported on this diagonal
		for _, i := range starts {
			if i <= covered {
				continue
			}
			s, e := i, i+w-1
			// A copy within one file may not grow into its own other half.
			fits := func(s, e int) bool { return dg.a != dg.b || e-s+1 <= dg.d }
			for s > 0 && s+dg.d > 0 && a[s-1].shape == b[s-1+dg.d].shape && fits(s-1, e) {
				s--
			}
			for e+1 < len(a) && e+1+dg.d < len(b) && a[e+1].shape == b[e+1+dg.d].shape && fits(s, e+1) {
				e++
			}
			covered = e
			tokens := distinctTokens(a[s : e+1])
			if tokens < opts.MinTokens {
				continue
			}
			out = append(out, Finding{
				A:      Range{files[dg.a].name, a[s].first, a[e].last},
				B:      Range{files[dg.b].name, b[s+dg.d].first, b[e+dg.d].last},
				Lines:  e - s + 1,
				Tokens: tokens,
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.A.File != y.A.File {
			return x.A.File < y.A.File
		}
		if x.A.Start != y.A.Start {
			return x.A.Start < y.A.Start
		}
		if x.B.File != y.B.File {
			return x.B.File < y.B.File
		}
		return x.B.Start < y.B.Start
	})
	return out
}

// distinctTokens sums the tokens of ls counting each shape once.
func distinctTokens(ls []line) int {
	seen := map[int]bool{}
	n := 0
	for _, l := range ls {
		if !seen[l.shape] {
			seen[l.shape] = true
			n += l.tokens
		}
	}
	return n
}

func equal(x, y []line) bool {
	for i := range x {
		if x[i].shape != y[i].shape {
			return false
		}
	}
	return true
}
