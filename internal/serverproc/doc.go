// Package serverproc starts and stops the server processes this project
// measures and tests: kube-apiserver and the upstream generic sample, our
// minimal-apiserver and examples, and an etcd running as its own process.
//
// It exists so that there is one answer to the questions every caller used
// to answer for itself, each a little differently: which port (FreePorts),
// where the output goes (Process.Log, LogTail), when the server counts as
// started (its /readyz answers 200; if it exits first, the error quotes the
// end of its log), how it is stopped (SIGTERM, a grace period, then
// SIGKILL) and how much memory it holds (RSSBytes, VmRSS). The prove tool,
// the scenario harness, the scenario report and the benchmarks all start
// their servers here, so their figures and their failures read alike.
//
// The embedded, in-process etcd is internal/etcdrun; this package runs etcd
// only as a separate process, as kube-apiserver is run in production.
package serverproc
