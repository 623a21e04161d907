// Package dupcode finds copied code: places in a module's Go files that
// share a run of lines of the same shape.
//
// # Shape
//
// Each file is parsed (go/parser, so import declarations, comments and
// generated files can be left out) and scanned (go/scanner) into tokens.
// Identifiers become one token, string and character literals another,
// numbers a third; keywords, operators and punctuation stay as they are.
// The shape of a source line is the sequence of its normalized tokens, so
//
//	if err := s.repo.Run(ctx, "fetch", url); err != nil {
//	if e := g.Run(c, "pull", remote); e != nil {
//
// have the same shape. Blank and comment-only lines have no shape and are
// skipped, so a copy that gained comments or lost a blank line still
// matches; reformatting does not matter because gofmt is enforced.
//
// # Threshold
//
// A finding is a maximal run of at least MinLines (6) consecutive shaped
// lines in one place equal in shape to a run in another place, holding at
// least MinTokens (50) tokens where each distinct line shape counts once.
// Why these numbers:
//
//   - 6 lines is the smallest body worth a helper function: a call and its
//     error check is 4 lines ("x, err := f()", "if err != nil {",
//     "return err", "}"), so a smaller window would pair every two calls
//     that check errors.
//   - Counting each shape once keeps tables out: a table ({"a", 1},
//     {"b", 2}, ...) or a struct's field list repeats one shape, so two
//     tables with rows of the same shape, or a long table against itself
//     shifted by a row, hold only a row's worth of tokens. The idiom lines
//     ("}", "return nil, err", "if err != nil {") add about 10 tokens once,
//     however often they recur.
//   - 50 tokens was measured on this repository. At 40 most findings are
//     idiom (a loop copying one field of each element into a slice, the
//     read-file-then-parse prologue of two loaders). At 60 verbatim copies
//     of a free-port helper (10 lines, 55 tokens) and of a PKI set-up
//     (7 lines, 52 tokens) go unreported. At 50 those are found and the
//     only idiom left is the six-line main() of the
//     run(ctx, args, stdout, stderr) convention (59 tokens), which the
//     allow list names.
//
// Runs that overlap themselves (the same lines, shifted) are not reported.
// Test files (_test.go) and testdata are not scanned: tests may repeat a
// shape for readability and are not shipped. Neither are directories the
// go command ignores (names starting with "." or "_", testdata, vendor),
// nested modules (a directory with its own go.mod), and generated files
// ("// Code generated ... DO NOT EDIT.").
//
// # Exemptions
//
// An allow list (see ParseAllowList) names pairs of files whose shared
// shapes are reviewed and unavoidable, each with a reason. An entry that no
// longer matches anything is itself reported, so the list cannot rot.
//
// # Why not an analysis.Analyzer
//
// A go/analysis Analyzer sees one package at a time, while copies are most
// often made between packages (that is why they are copies and not calls).
// So the package keeps the Analyzer's shape—one job, a documented
// threshold, table tests on testdata—but is driven by Scan over a
// directory tree; cmd/dupcode is its command.
package dupcode
