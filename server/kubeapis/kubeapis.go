// Package kubeapis lists the API groups that only kube-apiserver serves
// upstream and that a server built with package server can offer
// (Options.MoreAPIs), each from a package of its own so that a binary links
// only the groups it offers. They are served as data: no controller runs
// for them (a Deployment gets no ReplicaSet, a Job no Pod). On the patch
// series (-tags gcp_patched) pods, nodes and pod templates are among them
// (package pods); services and the other core resources that need IP and
// port allocators are not.
package kubeapis

import (
	"github.com/generic-controlplane/gcp/server"
	"github.com/generic-controlplane/gcp/server/kubeapis/apps"
	"github.com/generic-controlplane/gcp/server/kubeapis/autoscaling"
	"github.com/generic-controlplane/gcp/server/kubeapis/batch"
	"github.com/generic-controlplane/gcp/server/kubeapis/discovery"
	"github.com/generic-controlplane/gcp/server/kubeapis/networking"
	"github.com/generic-controlplane/gcp/server/kubeapis/node"
	"github.com/generic-controlplane/gcp/server/kubeapis/policy"
	"github.com/generic-controlplane/gcp/server/kubeapis/scheduling"
	"github.com/generic-controlplane/gcp/server/kubeapis/storage"
)

// All returns every group, in the order kube-apiserver installs them
// (which discovery keeps); pods' provider takes the core provider's place.
func All() []server.APIGroup {
	return append([]server.APIGroup{
		autoscaling.Group,
		batch.Group,
		networking.Group,
		node.Group,
		policy.Group,
		scheduling.Group,
		storage.Group,
		apps.Group,
		discovery.Group,
	}, tipGroups...)
}
