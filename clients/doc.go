// Package clients is the client-assumption matrix (issue 12): real clients
// (kubectl at the pin and two minors back, client-go, controller-runtime,
// helm v3) run everyday operations against kube-apiserver, the upstream
// generic sample and this project's servers, and the report says, per case
// and server, pass, fail (with the error text) or not applicable (with why).
//
// A failure alone says little; the report joins each one with a reviewed
// finding (findings.yaml): whether the server is at fault, a generic server
// lacks a feature, or the client assumes a Kubernetes cluster, and for the
// last the file:line in the client library that assumes it and the smallest
// change that would lift the assumption. A failure without a finding is
// "unclassified".
//
// The package has one job: the cases, running them, and the report. Which
// binaries to start and where is cmd/clients'.
package clients
