// Package goenv defines, once, the two environments in which this project
// runs go commands on Kubernetes source.
//
// A materialized k/k tree (internal/kktree) cannot be built as its go.work
// says: the module proxy does not serve two of the modules it lists. So
// there are two ways in, for two different jobs:
//
//   - ModuleAlone treats one module's go.mod on its own: no workspace, and
//     the go command may resolve requirements (-mod=mod) because a tree's
//     vendor/ directory is empty. It is how the dependency tools list a tree
//     (analysis/golist pairs it with a private -modfile so the tree's go.mod
//     is never rewritten), how modules are downloaded outside any module,
//     and how the harness builds this repository against a tree through a
//     generated modfile (mk/harness.mk).
//   - Workspace builds inside the tree through a workspace file written
//     beside it (kktree.WriteWorkspace), exactly the modules the tree's own
//     go.work names, with the build flags that make builds of different
//     trees share one build cache. `series goenv` prints it; prove and
//     the top Makefile (TREE_GO) build with it.
//
// Functions return fresh slices, so appending to one never changes another
// caller's.
package goenv

// BuildFlags make builds independent of where a tree lives and of its git
// state, so builds of every prefix of the series share the build cache.
const BuildFlags = "-buildvcs=false -trimpath"

// ModuleAlone is the environment for go commands on one module by itself.
func ModuleAlone() []string {
	return []string{"GOWORK=off", "GOFLAGS=-mod=mod"}
}

// Offline is ModuleAlone without the network (GOPROXY=off), for tests on
// synthetic module trees whose dependencies are all local.
func Offline() []string {
	return append(ModuleAlone(), "GOPROXY=off")
}

// Workspace is the environment for go commands inside a Kubernetes tree
// whose workspace file is workFile.
func Workspace(workFile string) []string {
	return []string{"GOWORK=" + workFile, "GOFLAGS=" + BuildFlags}
}
