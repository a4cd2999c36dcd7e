// Package k8s holds Coffer's Kubernetes manifests (a kustomize directory: namespace,
// StatefulSets coffer-meta and coffer-storage, Deployment coffer-gateway, Services,
// PodDisruptionBudgets and generated Secrets) and the test that checks them.
//
// The package has no code. Its test builds the coffer binary, learns the flags and
// COFFER_* environment variables `coffer server` accepts from the binary's own help
// output, runs `coffer admin init-cluster` as README.md documents it, and checks every
// manifest against them: flags and env exist, the binary's own configuration check
// accepts each pod's arguments and env, container ports match the listen flags,
// advertised and dialled addresses name pods and ports that exist, the node
// certificate covers every dialled name, probes, Services and PodDisruptionBudgets
// point at things that exist, mounted files are keys of the generated Secrets, and the
// security context is locked down. No Kubernetes cluster is needed.
//
// Invariant: nothing under deploy/k8s refers to a flag, env variable, port, Secret key,
// volume or pod that the binary or the manifests themselves do not define.
package k8s
