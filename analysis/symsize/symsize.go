// Package symsize attributes the bytes of a linked Go binary to the packages
// that own its symbols, from the binary's symbol table.
//
// A symbol's owner is read from its name the way the linker writes it:
// "k8s.io/api/core/v1.(*Pod).Marshal", "type:k8s.io/api/core/v1.Pod",
// "go:itab.*k8s.io/x.T,io.Reader" (owned by the concrete type's package).
// The linker escapes dots in the last path element ("gopkg.in/yaml%2ev3"),
// so the first dot after the last slash always ends the package path.
// Symbols with no owning package (runtime tables, string data, composite type
// descriptors) are counted as unattributed. Zero-initialized data is not
// counted at all: it occupies no bytes in the file.
package symsize

import (
	"debug/elf"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Sizes is the attribution of one binary.
type Sizes struct {
	ByPackage    map[string]int64
	Unattributed int64
}

// Read attributes the symbol sizes of an ELF binary.
func Read(binary string) (*Sizes, error) {
	f, err := elf.Open(binary)
	if err != nil {
		return nil, fmt.Errorf("reading symbols of %s: %w (only ELF binaries are supported)", binary, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		if errors.Is(err, elf.ErrNoSymbols) {
			return nil, fmt.Errorf("%s has no symbol table; build it without -ldflags=-s", binary)
		}
		return nil, fmt.Errorf("reading symbols of %s: %w", binary, err)
	}
	s := &Sizes{ByPackage: map[string]int64{}}
	for _, sym := range syms {
		if sym.Size == 0 || sym.Section == elf.SHN_UNDEF {
			continue
		}
		if t := elf.ST_TYPE(sym.Info); t != elf.STT_FUNC && t != elf.STT_OBJECT {
			continue
		}
		// Zeroed data (.bss, .noptrbss) takes memory at run time but no
		// bytes in the binary; a 32 MiB FIPS DRBG buffer would otherwise
		// make crypto look like half the binary.
		if int(sym.Section) < len(f.Sections) && f.Sections[sym.Section].Type == elf.SHT_NOBITS {
			continue
		}
		if pkg := PackageOf(sym.Name); pkg != "" {
			s.ByPackage[pkg] += int64(sym.Size)
		} else {
			s.Unattributed += int64(sym.Size)
		}
	}
	return s, nil
}

// PackageOf returns the import path of the package that owns the symbol, or
// "" when the symbol has no single owner.
func PackageOf(sym string) string {
	name := sym
	switch {
	case strings.HasPrefix(name, "go:itab."):
		name = strings.TrimPrefix(name, "go:itab.")
		name, _, _ = strings.Cut(name, ",")
	case strings.HasPrefix(name, "type:"):
		name = strings.TrimPrefix(name, "type:")
		if strings.HasPrefix(name, ".") { // type:.eq.T, type:.namedata.*, ...
			return ""
		}
	case strings.HasPrefix(name, "go:"):
		return ""
	}
	name = strings.TrimLeft(name, "*")
	if name == "" || !isPathStart(name[0]) || strings.HasPrefix(name, "map[") ||
		strings.HasPrefix(name, "func(") || strings.HasPrefix(name, "struct {") ||
		strings.HasPrefix(name, "interface {") || strings.HasPrefix(name, "chan ") {
		return ""
	}
	// Generic instantiations and method receivers follow the package path.
	end := len(name)
	if i := strings.IndexAny(name, "[("); i >= 0 {
		end = i
	}
	slash := strings.LastIndex(name[:end], "/")
	dot := strings.IndexByte(name[slash+1:end], '.')
	if dot < 0 {
		return ""
	}
	pkg := name[:slash+1+dot]
	if strings.Contains(pkg, "%") {
		if u, err := url.PathUnescape(pkg); err == nil {
			pkg = u
		}
	}
	return pkg
}

func isPathStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
