package k8s

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Limits and fixed names of the checks.
const (
	// imageName is the image every container must run (deploy/Dockerfile builds it).
	imageName = "coffer:dev"
	// binaryPath is the coffer binary inside the image.
	binaryPath = "/coffer"
	// nonRootUID is the image's user id.
	nonRootUID = 65532
	// sampleNodeName stands for spec.nodeName when env is expanded.
	sampleNodeName = "node-a"
	// zoneLabelField is the pod's copy of its node's zone label (Kubernetes 1.35+, see
	// README.md); sampleZone stands for it.
	zoneLabelField = "metadata.labels['topology.kubernetes.io/zone']"
	sampleZone     = "zone-a"
	// readyPath and healthPath are the gateway's probe endpoints.
	readyPath  = "/-/ready"
	healthPath = "/-/healthz"
	// initCommand starts the README line that generates the secrets.
	initCommand = "coffer admin init-cluster"
)

// cofferBin is the coffer binary built once by TestMain.
var cofferBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coffer-k8s-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cofferBin = filepath.Join(dir, "coffer")
	build := exec.Command("go", "build", "-o", cofferBin, "github.com/coffer-io/coffer/cmd/coffer")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/coffer: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli is what `coffer server` accepts, learnt from its help output.
type cli struct {
	flags map[string]bool // flag names without dashes
	env   map[string]bool // COFFER_* variables
}

var (
	helpFlag = regexp.MustCompile(`(?m)^\s+-([a-z0-9][a-z0-9-]*)\b`)
	helpEnv  = regexp.MustCompile(`\bCOFFER_[A-Z0-9_]+\b`)
)

// parseHelp reads the flag and env names out of `coffer server --help`.
func parseHelp(help string) (cli, error) {
	c := cli{flags: map[string]bool{}, env: map[string]bool{}}
	for _, m := range helpFlag.FindAllStringSubmatch(help, -1) {
		c.flags[m[1]] = true
	}
	for _, m := range helpEnv.FindAllString(help, -1) {
		c.env[m] = true
	}
	if len(c.flags) == 0 || len(c.env) == 0 {
		return c, errors.New("no flags or env variables in the help output")
	}
	return c, nil
}

func serverCLI(t *testing.T) cli {
	t.Helper()
	out, _ := exec.Command(cofferBin, "server", "--help").CombinedOutput() // exit status of -help varies
	if !bytes.Contains(out, []byte("usage: coffer server")) {
		t.Fatalf("coffer server --help printed no usage:\n%s", out)
	}
	c, err := parseHelp(string(out))
	if err != nil {
		t.Fatalf("coffer server --help: %v\n%s", err, out)
	}
	return c
}

func TestParseHelp(t *testing.T) {
	for _, tc := range []struct {
		name, help string
		flags, env []string
		err        bool
	}{
		{"flags and env", "usage: x\n  -data value\n    \tdir (env COFFER_DATA)\n  -root-key-file value\n    \tkey; env COFFER_ROOT_KEY (hex) wins (env COFFER_ROOT_KEY_FILE)\n",
			[]string{"data", "root-key-file"}, []string{"COFFER_DATA", "COFFER_ROOT_KEY", "COFFER_ROOT_KEY_FILE"}, false},
		{"no flags", "usage: x\n", nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseHelp(tc.help)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if tc.err {
				return
			}
			if got := slices.Sorted(maps.Keys(c.flags)); !slices.Equal(got, tc.flags) {
				t.Errorf("flags %v, want %v", got, tc.flags)
			}
			if got := slices.Sorted(maps.Keys(c.env)); !slices.Equal(got, tc.env) {
				t.Errorf("env %v, want %v", got, tc.env)
			}
		})
	}
}

// Manifest shapes: only the fields the checks read.

type objectMeta struct {
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace"`
	Labels    map[string]string `yaml:"labels"`
}

type labelSelector struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []yaml.Node       `yaml:"matchExpressions"`
}

type object struct {
	file       string
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       yaml.Node  `yaml:"spec"`
	raw        yaml.Node
}

func (o *object) String() string { return o.file + ": " + o.Kind + "/" + o.Metadata.Name }

type workloadSpec struct {
	Replicas    *int          `yaml:"replicas"`
	ServiceName string        `yaml:"serviceName"`
	Selector    labelSelector `yaml:"selector"`
	Template    struct {
		Metadata objectMeta `yaml:"metadata"`
		Spec     podSpec    `yaml:"spec"`
	} `yaml:"template"`
	VolumeClaimTemplates []struct {
		Metadata objectMeta `yaml:"metadata"`
	} `yaml:"volumeClaimTemplates"`
}

type podSpec struct {
	SecurityContext *struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		RunAsUser    *int  `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers     []container `yaml:"containers"`
	InitContainers []container `yaml:"initContainers"`
	Volumes        []volume    `yaml:"volumes"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             *struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path   string `yaml:"path"`
		Port   string `yaml:"port"`
		Scheme string `yaml:"scheme"`
	} `yaml:"httpGet"`
	TCPSocket *struct {
		Port string `yaml:"port"`
	} `yaml:"tcpSocket"`
	Exec *yaml.Node `yaml:"exec"`
}

type volume struct {
	Name   string `yaml:"name"`
	Secret *struct {
		SecretName string `yaml:"secretName"`
		Items      []struct {
			Key  string `yaml:"key"`
			Path string `yaml:"path"`
		} `yaml:"items"`
	} `yaml:"secret"`
	EmptyDir *yaml.Node `yaml:"emptyDir"`
}

type serviceSpec struct {
	ClusterIP string            `yaml:"clusterIP"`
	Selector  map[string]string `yaml:"selector"`
	Ports     []struct {
		Name       string `yaml:"name"`
		Port       int    `yaml:"port"`
		TargetPort string `yaml:"targetPort"`
		Protocol   string `yaml:"protocol"`
	} `yaml:"ports"`
}

type pdbSpec struct {
	MaxUnavailable any           `yaml:"maxUnavailable"`
	MinAvailable   any           `yaml:"minAvailable"`
	Selector       labelSelector `yaml:"selector"`
}

type kustomization struct {
	Namespace       string   `yaml:"namespace"`
	Resources       []string `yaml:"resources"`
	SecretGenerator []struct {
		Name  string   `yaml:"name"`
		Files []string `yaml:"files"`
	} `yaml:"secretGenerator"`
}

// workload is a StatefulSet or Deployment with what the checks derive from it.
type workload struct {
	obj  *object
	spec workloadSpec
	pods []string          // pod names (StatefulSet: every ordinal; Deployment: one sample)
	set  map[string]string // effective coffer settings of the coffer container, for pods[0]
	argv []string          // its arguments after "server", expanded, for pods[0]
	envv []string          // its COFFER_* environment, expanded, for pods[0]
}

// problems collects what is wrong, each prefixed by where.
type problems []string

func (p *problems) add(where fmt.Stringer, format string, args ...any) {
	*p = append(*p, where.String()+": "+fmt.Sprintf(format, args...))
}

type label string

func (l label) String() string { return string(l) }

// tree is the deploy/k8s directory (and README.md) as file name → content.
type tree map[string][]byte

func readTree(t *testing.T) tree {
	t.Helper()
	tr := tree{}
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".yaml") || e.Name() == "README.md") {
			continue
		}
		b, err := os.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		tr[e.Name()] = b
	}
	return tr
}

// checker holds the parsed tree.
type checker struct {
	c        cli
	dir      string // scratch directory for init-cluster
	p        problems
	kust     kustomization
	objs     []*object
	loads    []*workload
	services map[string]*serviceSpec
	pdbs     map[string]*pdbSpec
	secrets  map[string]map[string]string // Secret name → key → source file (generated) or ""
	initOut  string                       // init-cluster output directory, "" if it failed
	hosts    []string                     // host names pods dial over mutual TLS
}

// check runs every check over tr and returns the problems found.
func check(c cli, dir string, tr tree) problems {
	k := &checker{c: c, dir: dir, services: map[string]*serviceSpec{}, pdbs: map[string]*pdbSpec{}, secrets: map[string]map[string]string{}}
	k.parse(tr)
	k.runInit(tr)
	k.checkGenerated()
	for _, w := range k.loads {
		k.checkWorkload(w)
	}
	k.checkServices()
	k.checkPDBs()
	k.checkCertificate()
	return k.p
}

func (k *checker) parse(tr tree) {
	kb, ok := tr["kustomization.yaml"]
	if !ok {
		k.p.add(label("kustomization.yaml"), "missing")
		return
	}
	if err := yaml.Unmarshal(kb, &k.kust); err != nil {
		k.p.add(label("kustomization.yaml"), "%v", err)
		return
	}
	var files []string
	for name := range tr {
		if strings.HasSuffix(name, ".yaml") && name != "kustomization.yaml" {
			files = append(files, name)
		}
	}
	slices.Sort(files)
	if got := slices.Sorted(slices.Values(k.kust.Resources)); !slices.Equal(got, files) {
		k.p.add(label("kustomization.yaml"), "resources %v, want every manifest of the directory %v", got, files)
	}
	for _, name := range k.kust.Resources {
		b, ok := tr[name]
		if !ok {
			continue // reported above
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			o := &object{file: name}
			err := dec.Decode(&o.raw)
			if errors.Is(err, io.EOF) {
				break
			}
			if err == nil {
				err = o.raw.Decode(o)
			}
			if err != nil {
				k.p.add(label(name), "%v", err)
				break
			}
			if o.Kind == "" {
				continue // empty document
			}
			k.objs = append(k.objs, o)
		}
	}
	for _, g := range k.kust.SecretGenerator {
		keys := map[string]string{}
		for _, f := range g.Files {
			key, src, ok := strings.Cut(f, "=")
			if !ok {
				key, src = path.Base(f), f
			}
			keys[key] = src
		}
		k.secrets[g.Name] = keys
	}
	for _, o := range k.objs {
		if ns := o.Metadata.Namespace; o.Kind != "Namespace" && ns != k.kust.Namespace {
			k.p.add(o, "namespace %q, want %q", ns, k.kust.Namespace)
		}
		var err error
		switch o.Kind {
		case "Namespace":
			if o.Metadata.Name != k.kust.Namespace {
				k.p.add(o, "is not the kustomization's namespace %q", k.kust.Namespace)
			}
		case "StatefulSet", "Deployment":
			w := &workload{obj: o}
			if err = o.Spec.Decode(&w.spec); err == nil {
				k.loads = append(k.loads, w)
			}
		case "Service":
			s := &serviceSpec{}
			if err = o.Spec.Decode(s); err == nil {
				k.services[o.Metadata.Name] = s
			}
		case "PodDisruptionBudget":
			s := &pdbSpec{}
			if err = o.Spec.Decode(s); err == nil {
				k.pdbs[o.Metadata.Name] = s
			}
		case "Secret":
			var s struct {
				Data       map[string]string `yaml:"data"`
				StringData map[string]string `yaml:"stringData"`
			}
			err = o.raw.Decode(&s)
			keys := map[string]string{}
			for key := range s.Data {
				keys[key] = ""
			}
			for key := range s.StringData {
				keys[key] = ""
			}
			k.secrets[o.Metadata.Name] = keys
		default:
			k.p.add(o, "kind %s is not checked by this test: teach it", o.Kind)
		}
		if err != nil {
			k.p.add(o, "spec: %v", err)
		}
	}
	if !slices.ContainsFunc(k.objs, func(o *object) bool { return o.Kind == "Namespace" }) {
		k.p.add(label("manifests"), "no Namespace %q", k.kust.Namespace)
	}
	for _, w := range k.loads {
		k.derive(w)
	}
}

// derive fills a workload's pod names and coffer settings.
func (k *checker) derive(w *workload) {
	name := w.obj.Metadata.Name
	n := 1
	if w.spec.Replicas != nil {
		n = *w.spec.Replicas
	}
	switch w.obj.Kind {
	case "StatefulSet":
		for i := range n {
			w.pods = append(w.pods, name+"-"+strconv.Itoa(i))
		}
	default:
		w.pods = []string{name + "-6d9f7c5b4-x2x7q"}
	}
	if len(w.pods) == 0 {
		k.p.add(w.obj, "no replicas")
		return
	}
	if cs := w.spec.Template.Spec.Containers; len(cs) > 0 {
		w.set = k.settingsOf(w, &cs[0], w.pods[0])
	}
}

// secretEnv are the env variables that carry secrets (cmd/coffer/secrets.go).
var secretEnv = map[string]bool{"COFFER_ROOT_KEY": true, "COFFER_ROOT_ACCESS_KEY": true, "COFFER_ROOT_SECRET_KEY": true}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// settingsOf returns a container's coffer settings for one pod: flag name → value,
// from --flag=value arguments over COFFER_* env variables, with $(VAR) expanded as
// Kubernetes does. Problems with the arguments are reported once, for the first pod.
func (k *checker) settingsOf(w *workload, c *container, pod string) map[string]string {
	where := label(w.obj.String() + ": container " + c.Name)
	env := map[string]string{}
	set := map[string]string{}
	expand := func(s string) string {
		return varRef.ReplaceAllStringFunc(s, func(m string) string {
			v, ok := env[m[2:len(m)-1]]
			if !ok {
				k.p.add(where, "%s refers to %s, which is not defined before it", s, m)
				return m
			}
			return v
		})
	}
	for _, e := range c.Env {
		v := e.Value
		if f := e.ValueFrom; f != nil {
			switch {
			case f.FieldRef != nil && f.FieldRef.FieldPath == "metadata.name":
				v = pod
			case f.FieldRef != nil && f.FieldRef.FieldPath == "spec.nodeName":
				v = sampleNodeName
			case f.FieldRef != nil && f.FieldRef.FieldPath == zoneLabelField:
				v = sampleZone
			case f.FieldRef != nil:
				k.p.add(where, "env %s: fieldRef %s is not checked by this test", e.Name, f.FieldRef.FieldPath)
			case f.SecretKeyRef != nil:
				if keys, ok := k.secrets[f.SecretKeyRef.Name]; !ok {
					k.p.add(where, "env %s: no Secret %q", e.Name, f.SecretKeyRef.Name)
				} else if _, ok := keys[f.SecretKeyRef.Key]; !ok {
					k.p.add(where, "env %s: Secret %q has no key %q", e.Name, f.SecretKeyRef.Name, f.SecretKeyRef.Key)
				}
				v = "secret"
			default:
				k.p.add(where, "env %s: valueFrom is not checked by this test", e.Name)
			}
		} else {
			v = expand(v)
		}
		env[e.Name] = v
		if !strings.HasPrefix(e.Name, "COFFER_") {
			continue
		}
		w.envv = append(w.envv, e.Name+"="+v)
		if !k.c.env[e.Name] {
			k.p.add(where, "env %s is not read by coffer server", e.Name)
			continue
		}
		if secretEnv[e.Name] && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			k.p.add(where, "env %s holds a secret: take it from a Secret (secretKeyRef)", e.Name)
		}
		flag := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(e.Name, "COFFER_")), "_", "-")
		if k.c.flags[flag] {
			set[flag] = v
		} else {
			set["$"+e.Name] = v // env-only settings (the secrets)
		}
	}
	if len(c.Command) != 1 || c.Command[0] != binaryPath {
		k.p.add(where, "command %q, want [%s]", c.Command, binaryPath)
	}
	if len(c.Args) == 0 || c.Args[0] != "server" {
		k.p.add(where, "args %q: want the server command first", c.Args)
		return set
	}
	seen := map[string]bool{}
	for _, a := range c.Args[1:] {
		name, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !ok {
			k.p.add(where, "argument %q: write flags as --name=value", a)
			continue
		}
		if !k.c.flags[name] {
			k.p.add(where, "flag --%s is not accepted by coffer server", name)
			continue
		}
		if seen[name] {
			k.p.add(where, "flag --%s given twice", name)
		}
		seen[name] = true
		set[name] = expand(v)
		w.argv = append(w.argv, "--"+name+"="+set[name])
	}
	return set
}

func (s *workload) roles() map[string]bool {
	r := map[string]bool{}
	for _, x := range strings.Split(s.set["roles"], ",") {
		if x = strings.TrimSpace(x); x != "" {
			r[x] = true
		}
	}
	return r
}

func labelsMatch(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// listenFlags are the flags that bind a TCP port; gossip binds UDP too.
var listenFlags = []string{"meta-listen", "storage-listen", "http-addr", "https-addr", "gossip-listen"}

// portOf returns the port of a host:port setting.
func portOf(hostport string) (int, bool) {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(p)
	return n, err == nil && n > 0 && n < 1<<16
}

func (k *checker) checkWorkload(w *workload) {
	spec := &w.spec
	pod := &spec.Template.Spec
	if !labelsMatch(spec.Selector.MatchLabels, spec.Template.Metadata.Labels) || len(spec.Selector.MatchExpressions) > 0 {
		k.p.add(w.obj, "selector %v does not select its own pod template %v", spec.Selector.MatchLabels, spec.Template.Metadata.Labels)
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != nonRootUID {
		k.p.add(w.obj, "pod securityContext: want runAsNonRoot true and runAsUser %d", nonRootUID)
	}
	if len(pod.InitContainers) > 0 {
		k.p.add(w.obj, "init containers are not checked by this test")
	}
	if len(pod.Containers) != 1 {
		k.p.add(w.obj, "%d containers, want exactly one (coffer)", len(pod.Containers))
		return
	}
	c := &pod.Containers[0]
	where := label(w.obj.String() + ": container " + c.Name)
	if c.Image != imageName {
		k.p.add(where, "image %q, want %q", c.Image, imageName)
	}
	if w.obj.Kind == "StatefulSet" {
		if _, ok := k.services[spec.ServiceName]; !ok || k.services[spec.ServiceName].ClusterIP != "None" {
			k.p.add(w.obj, "serviceName %q is not a headless Service", spec.ServiceName)
		} else if !labelsMatch(k.services[spec.ServiceName].Selector, spec.Template.Metadata.Labels) {
			k.p.add(w.obj, "headless Service %q does not select its pods", spec.ServiceName)
		}
	}
	roles := w.roles()
	if len(roles) == 0 {
		k.p.add(where, "no --roles")
	}
	for r := range roles {
		if r != "meta" && r != "storage" && r != "gateway" {
			k.p.add(where, "unknown role %q", r)
		}
	}
	set := w.set
	if set["node-id"] == "" {
		k.p.add(where, "no --node-id")
	}

	// Ports: each container port is a listen flag's, and each listen flag has one.
	need := map[string]bool{"meta-listen": roles["meta"], "storage-listen": roles["storage"], "gossip-listen": set["gossip-listen"] != ""}
	if roles["gateway"] && set["http-addr"] == "" && set["https-addr"] == "" {
		k.p.add(where, "gateway role without --http-addr or --https-addr")
	}
	if roles["gateway"] {
		need["http-addr"], need["https-addr"] = set["http-addr"] != "", set["https-addr"] != ""
	}
	listen := map[string]bool{} // "port/proto"
	for _, f := range listenFlags {
		if !need[f] {
			continue
		}
		p, ok := portOf(set[f])
		if !ok {
			k.p.add(where, "--%s=%q: set it explicitly to host:port", f, set[f])
			continue
		}
		listen[fmt.Sprintf("%d/TCP", p)] = true
		if f == "gossip-listen" {
			listen[fmt.Sprintf("%d/UDP", p)] = true
		}
	}
	declared := map[string]bool{}
	names := map[string]string{} // port name → "port/proto"
	for _, p := range c.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = "TCP"
		}
		key := fmt.Sprintf("%d/%s", p.ContainerPort, proto)
		if !listen[key] {
			k.p.add(where, "containerPort %s (%s) matches no listen flag of the roles it runs", key, p.Name)
		}
		declared[key] = true
		if p.Name != "" {
			names[p.Name] = key
		}
	}
	for key := range listen {
		if !declared[key] {
			k.p.add(where, "listens on %s but declares no containerPort for it", key)
		}
	}
	portRef := func(ref string) (string, bool) {
		if key, ok := names[ref]; ok {
			return key, true
		}
		key := ref + "/TCP"
		return key, declared[key]
	}

	// Probes.
	for _, pr := range []struct {
		name, path string
		p          *probe
	}{{"readinessProbe", readyPath, c.ReadinessProbe}, {"livenessProbe", healthPath, c.LivenessProbe}} {
		switch {
		case pr.p == nil:
			k.p.add(where, "no %s", pr.name)
		case pr.p.HTTPGet != nil:
			key, ok := portRef(pr.p.HTTPGet.Port)
			hp, _ := portOf(set["http-addr"])
			switch {
			case !ok:
				k.p.add(where, "%s: port %q is not a declared containerPort", pr.name, pr.p.HTTPGet.Port)
			case !roles["gateway"] || key != fmt.Sprintf("%d/TCP", hp) || pr.p.HTTPGet.Scheme != "" && pr.p.HTTPGet.Scheme != "HTTP":
				k.p.add(where, "%s: HTTP probes need the gateway's plain HTTP port (--http-addr)", pr.name)
			}
			if pr.p.HTTPGet.Path != pr.path {
				k.p.add(where, "%s: path %q, want %q", pr.name, pr.p.HTTPGet.Path, pr.path)
			}
		case pr.p.TCPSocket != nil:
			if _, ok := portRef(pr.p.TCPSocket.Port); !ok {
				k.p.add(where, "%s: port %q is not a declared containerPort", pr.name, pr.p.TCPSocket.Port)
			}
		default:
			k.p.add(where, "%s: want httpGet or tcpSocket (the image has no shell)", pr.name)
		}
	}

	// Resources and security.
	for _, kind := range []string{"cpu", "memory"} {
		if c.Resources.Requests[kind] == "" || c.Resources.Limits[kind] == "" {
			k.p.add(where, "no %s request and limit", kind)
		}
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		k.p.add(where, "securityContext: want readOnlyRootFilesystem, no privilege escalation, capabilities drop ALL and add none")
	}

	// Volumes.
	vols := map[string]*volume{}
	for i := range pod.Volumes {
		v := &pod.Volumes[i]
		vols[v.Name] = v
		if v.Secret != nil {
			keys, ok := k.secrets[v.Secret.SecretName]
			if !ok {
				k.p.add(w.obj, "volume %s: no Secret %q", v.Name, v.Secret.SecretName)
			}
			for _, it := range v.Secret.Items {
				if _, ok := keys[it.Key]; !ok {
					k.p.add(w.obj, "volume %s: Secret %q has no key %q", v.Name, v.Secret.SecretName, it.Key)
				}
			}
		}
	}
	claims := map[string]bool{}
	for _, ct := range spec.VolumeClaimTemplates {
		claims[ct.Metadata.Name] = true
	}
	mounted := map[string]bool{}
	mounts := map[string]string{} // mount path → volume name
	for _, m := range c.VolumeMounts {
		mounted[m.Name] = true
		mounts[path.Clean(m.MountPath)] = m.Name
		if vols[m.Name] == nil && !claims[m.Name] {
			k.p.add(where, "volumeMount %s: no such volume or volume claim template", m.Name)
		}
	}
	for name := range vols {
		if !mounted[name] {
			k.p.add(w.obj, "volume %s is never mounted", name)
		}
	}
	for name := range claims {
		if !mounted[name] {
			k.p.add(w.obj, "volume claim template %s is never mounted", name)
		}
	}
	// Files named by flags are keys of a mounted Secret.
	files := map[string]bool{"tls-ca": true, "tls-cert": true, "tls-key": true}
	if roles["gateway"] {
		if set["$COFFER_ROOT_ACCESS_KEY"] == "" || set["$COFFER_ROOT_SECRET_KEY"] == "" {
			files["credentials-file"] = true
		}
		if set["$COFFER_ROOT_KEY"] == "" {
			files["root-key-file"] = true
		}
	}
	if set["gossip-listen"] != "" {
		files["gossip-key-file"] = true
	}
	for _, f := range []string{"public-cert", "public-key", "config"} {
		if set[f] != "" {
			files[f] = true
		}
	}
	for f := range files {
		p := set[f]
		if p == "" {
			k.p.add(where, "--%s is required here", f)
			continue
		}
		v := vols[mounts[path.Dir(p)]]
		if v == nil || v.Secret == nil {
			k.p.add(where, "--%s=%s: no Secret is mounted at %s", f, p, path.Dir(p))
			continue
		}
		key := path.Base(p)
		if len(v.Secret.Items) > 0 {
			key = ""
			for _, it := range v.Secret.Items {
				if it.Path == path.Base(p) {
					key = it.Key
				}
			}
		}
		if _, ok := k.secrets[v.Secret.SecretName][key]; !ok {
			k.p.add(where, "--%s=%s: Secret %q has no key %q", f, p, v.Secret.SecretName, path.Base(p))
		}
	}
	if roles["meta"] || roles["storage"] {
		d := path.Clean(set["data"])
		ok := false
		for mp, name := range mounts {
			if claims[name] && (d == mp || strings.HasPrefix(d, mp+"/")) {
				ok = true
			}
		}
		if set["data"] == "" || !ok {
			k.p.add(where, "--data=%q is not on a persistent volume claim", set["data"])
		}
	}
	if roles["gateway"] {
		if v := vols[mounts["/tmp"]]; v == nil || v.EmptyDir == nil {
			k.p.add(where, "the gateway spools uploads under /tmp: mount an emptyDir there (read-only root filesystem)")
		}
	}
	if roles["storage"] && set["zone"] == "" {
		k.p.add(where, "storage role without a zone")
	}

	k.validate(w, where)

	// Addresses: advertised ones name this pod; dialled ones name existing pods and ports.
	for _, f := range []struct{ adv, listen string }{{"meta-advertise", "meta-listen"}, {"storage-advertise", "storage-listen"}} {
		if !need[f.listen] {
			continue
		}
		if w.obj.Kind != "StatefulSet" {
			k.p.add(where, "role with --%s needs a stable identity: run it in a StatefulSet", f.listen)
			continue
		}
		host, _, _ := net.SplitHostPort(set[f.adv])
		want := fmt.Sprintf("%s.%s.%s.svc", w.pods[0], spec.ServiceName, k.kust.Namespace)
		if host != want {
			k.p.add(where, "--%s=%q: want host %s (the pod's stable name)", f.adv, set[f.adv], want)
		} else {
			k.dial(where, "--"+f.adv, set[f.adv], f.listen)
		}
	}
	if roles["meta"] {
		var ids []string
		for _, b := range splitList(set["meta-bootstrap"]) {
			id, addr, _ := strings.Cut(b, "=")
			ids = append(ids, id)
			if target := k.dial(where, "--meta-bootstrap", addr, "meta-listen"); target != "" && target != id {
				k.p.add(where, "--meta-bootstrap: id %s names pod %s", id, target)
			}
		}
		if !slices.Equal(ids, w.pods) && set["meta-join"] == "" {
			k.p.add(where, "--meta-bootstrap lists %v, want every voter of the StatefulSet %v", ids, w.pods)
		}
		for _, a := range splitList(set["meta-join"]) {
			k.dial(where, "--meta-join", a, "meta-listen")
		}
	}
	for _, a := range splitList(set["meta-addrs"]) {
		k.dial(where, "--meta-addrs", a, "meta-listen")
	}
	if (roles["storage"] || roles["gateway"]) && !roles["meta"] && set["meta-addrs"] == "" {
		k.p.add(where, "no --meta-addrs: storage and gateway roles must find the voters")
	}
	for _, a := range splitList(set["gossip-seeds"]) {
		k.dial(where, "--gossip-seeds", a, "gossip-listen")
	}
}

// validate runs the real binary with the container's arguments and environment, as
// each pod gets them. Its configuration check (every flag parsed, every role's
// settings validated) comes first; the first thing it does after is loading the TLS
// files, which do not exist here. So a valid configuration fails exactly there, and
// any other failure is a configuration the binary rejects.
func (k *checker) validate(w *workload, where label) {
	c := &w.spec.Template.Spec.Containers[0]
	for _, pod := range w.pods {
		saved := k.p // problems of the arguments are reported once, by derive
		p := &workload{obj: w.obj}
		k.settingsOf(p, c, pod)
		k.p = saved
		cmd := exec.Command(cofferBin, append([]string{"server"}, p.argv...)...)
		cmd.Env = p.envv // nothing from the test's own environment
		out, err := cmd.CombinedOutput()
		if want := "coffer server: tls-ca: "; err == nil || !bytes.HasPrefix(out, []byte(want)) {
			k.p.add(where, "pod %s: coffer server rejects the configuration (want it to get as far as loading the TLS files):\n%s", pod, bytes.TrimSpace(out))
		}
	}
}

func splitList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// dialled records every host name some pod dials, for the certificate check.
func (k *checker) dial(where label, what, addr, listenFlag string) (pod string) {
	host, _, err := net.SplitHostPort(addr)
	port, ok := portOf(addr)
	if err != nil || !ok {
		k.p.add(where, "%s %q: want host:port", what, addr)
		return ""
	}
	// <pod>.<service>.<namespace>.svc
	parts := strings.Split(host, ".")
	if len(parts) != 4 || parts[2] != k.kust.Namespace || parts[3] != "svc" {
		k.p.add(where, "%s %q: want <pod>.<service>.%s.svc", what, addr, k.kust.Namespace)
		return ""
	}
	for _, w := range k.loads {
		if w.obj.Kind != "StatefulSet" || w.spec.ServiceName != parts[1] || !slices.Contains(w.pods, parts[0]) {
			continue
		}
		svc := k.services[parts[1]]
		if svc == nil || svc.ClusterIP != "None" {
			k.p.add(where, "%s %q: Service %s is not headless", what, addr, parts[1])
			return parts[0]
		}
		lp, ok := portOf(w.set[listenFlag])
		if !ok || lp != port {
			k.p.add(where, "%s %q: pod %s has no --%s on port %d", what, addr, parts[0], listenFlag, port)
		}
		k.hosts = append(k.hosts, host)
		return parts[0]
	}
	k.p.add(where, "%s %q: no pod %s behind Service %s", what, addr, parts[0], parts[1])
	return ""
}

// initArgs returns the arguments of the README's init-cluster command, with --out
// pointed at out.
func initArgs(readme []byte, out string) ([]string, error) {
	var line string
	sc := bufio.NewScanner(bytes.NewReader(readme))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if line == "" && !strings.HasPrefix(l, initCommand+" ") {
			continue
		}
		line += " " + strings.TrimSuffix(l, `\`)
		if !strings.HasSuffix(l, `\`) {
			break
		}
	}
	if line == "" {
		return nil, fmt.Errorf("no %q command", initCommand)
	}
	fields := strings.Fields(strings.TrimSpace(line))[2:] // after "coffer admin"
	var args []string
	sawOut := false
	for _, f := range fields {
		f = strings.NewReplacer("'", "", `"`, "").Replace(f)
		if name, _, ok := strings.Cut(f, "="); ok && name == "--out" {
			f, sawOut = "--out="+out, true
		}
		args = append(args, f)
	}
	if !sawOut {
		return nil, errors.New("the init-cluster command has no --out=<dir>")
	}
	return args, nil
}

// runInit runs the README's init-cluster command into a scratch directory.
func (k *checker) runInit(tr tree) {
	out := filepath.Join(k.dir, "secrets")
	args, err := initArgs(tr["README.md"], out)
	if err != nil {
		k.p.add(label("README.md"), "%v", err)
		return
	}
	cmd := exec.Command(cofferBin, append([]string{"admin"}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		k.p.add(label("README.md"), "coffer admin %s: %v\n%s", strings.Join(args, " "), err, b)
		return
	}
	k.initOut = out
}

// checkGenerated checks that every generated Secret reads a file init-cluster writes,
// and that the CA key stays out of the cluster.
func (k *checker) checkGenerated() {
	for _, g := range k.kust.SecretGenerator {
		for key, src := range k.secrets[g.Name] {
			where := label("kustomization.yaml: secretGenerator " + g.Name)
			rel, ok := strings.CutPrefix(path.Clean(src), "secrets/")
			if !ok {
				k.p.add(where, "%s: read the generated material from secrets/", src)
				continue
			}
			if path.Base(rel) == "ca-key.pem" {
				k.p.add(where, "%s: the CA's private key must not enter the cluster", src)
			}
			if k.initOut == "" {
				continue
			}
			if _, err := os.Stat(filepath.Join(k.initOut, filepath.FromSlash(rel))); err != nil {
				k.p.add(where, "%s=%s: coffer admin init-cluster writes no such file", key, src)
			}
		}
	}
}

func (k *checker) checkServices() {
	for name, s := range k.services {
		where := label("Service/" + name)
		var sel []*workload
		for _, w := range k.loads {
			if labelsMatch(s.Selector, w.spec.Template.Metadata.Labels) {
				sel = append(sel, w)
			}
		}
		if len(sel) == 0 {
			k.p.add(where, "selector %v selects no pods", s.Selector)
		}
		for _, sp := range s.Ports {
			proto := sp.Protocol
			if proto == "" {
				proto = "TCP"
			}
			target := sp.TargetPort
			if target == "" {
				target = strconv.Itoa(sp.Port)
			}
			for _, w := range sel {
				found := false
				for _, c := range w.spec.Template.Spec.Containers {
					for _, p := range c.Ports {
						pp := p.Protocol
						if pp == "" {
							pp = "TCP"
						}
						if pp == proto && (p.Name == target || strconv.Itoa(p.ContainerPort) == target) {
							found = true
						}
					}
				}
				if !found {
					k.p.add(where, "port %s targets %s/%s, which %s does not declare", sp.Name, target, proto, w.obj)
				}
			}
		}
	}
}

func (k *checker) checkPDBs() {
	covered := map[*workload][]string{}
	for name, s := range k.pdbs {
		where := label("PodDisruptionBudget/" + name)
		if len(s.Selector.MatchExpressions) > 0 {
			k.p.add(where, "matchExpressions are not checked by this test")
		}
		if (s.MaxUnavailable == nil) == (s.MinAvailable == nil) {
			k.p.add(where, "set exactly one of maxUnavailable and minAvailable")
		}
		n := 0
		for _, w := range k.loads {
			if labelsMatch(s.Selector.MatchLabels, w.spec.Template.Metadata.Labels) {
				covered[w] = append(covered[w], name)
				n++
			}
		}
		if n == 0 {
			k.p.add(where, "selector %v selects no pods", s.Selector.MatchLabels)
		}
	}
	for _, w := range k.loads {
		switch b := covered[w]; {
		case len(b) > 1:
			k.p.add(w.obj, "pods match %d PodDisruptionBudgets %v: the eviction API refuses such pods", len(b), b)
		case len(b) == 0 && (w.roles()["meta"] || w.roles()["storage"]):
			k.p.add(w.obj, "no PodDisruptionBudget covers these pods")
		}
	}
}

// checkCertificate checks that the node certificate init-cluster issues is valid for
// every name a pod dials and for the gateway's domain.
func (k *checker) checkCertificate() {
	if k.initOut == "" {
		return
	}
	certFiles := map[string]bool{}
	for _, w := range k.loads {
		if w.set["tls-cert"] != "" {
			certFiles[path.Base(w.set["tls-cert"])] = true
		}
	}
	names := slices.Clone(k.hosts)
	for _, w := range k.loads {
		if w.roles()["gateway"] && w.set["https-addr"] != "" && w.set["public-cert"] == "" {
			names = append(names, w.set["domain"])
		}
	}
	for f := range certFiles {
		// Secret key → init-cluster file.
		src := ""
		for _, keys := range k.secrets {
			if s, ok := keys[f]; ok && s != "" {
				src = strings.TrimPrefix(path.Clean(s), "secrets/")
			}
		}
		where := label("certificate " + f)
		b, err := os.ReadFile(filepath.Join(k.initOut, filepath.FromSlash(src)))
		if err != nil {
			k.p.add(where, "%v", err)
			continue
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			k.p.add(where, "no PEM block")
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			k.p.add(where, "%v", err)
			continue
		}
		for _, h := range names {
			if err := cert.VerifyHostname(h); err != nil {
				k.p.add(where, "pods dial %s, but: %v (add it to --hosts of the README's init-cluster command)", h, err)
			}
		}
	}
}

func TestManifests(t *testing.T) {
	c := serverCLI(t)
	for _, p := range check(c, t.TempDir(), readTree(t)) {
		t.Error(p)
	}
}

// TestManifestsCatchBreakage breaks one thing at a time in the real manifests and
// checks that the test names it.
func TestManifestsCatchBreakage(t *testing.T) {
	c := serverCLI(t)
	good := readTree(t)
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"unknown flag", "meta.yaml", "--meta-listen=", "--meta-lisen=", "flag --meta-lisen is not accepted"},
		{"unknown env", "storage.yaml", "name: COFFER_ZONE", "name: COFFER_ZONES", "env COFFER_ZONES is not read"},
		{"port mismatch", "meta.yaml", "containerPort: 7000", "containerPort: 7001", "containerPort 7001/TCP (meta) matches no listen flag"},
		{"listen without port", "gateway.yaml", "--https-addr=0.0.0.0:8443", "--https-addr=0.0.0.0:9443", "listens on 9443/TCP but declares no containerPort"},
		{"wrong image", "gateway.yaml", "image: coffer:dev", "image: coffer:latest", `image "coffer:latest"`},
		{"probe on undeclared port", "storage.yaml", "port: storage\n            periodSeconds: 10", "port: metrics\n            periodSeconds: 10", `readinessProbe: port "metrics" is not a declared`},
		{"probe on undeclared port number", "meta.yaml", "port: storage\n            initialDelaySeconds", "port: 7101\n            initialDelaySeconds", `livenessProbe: port "7101" is not a declared`},
		{"secret in plain env", "gateway.yaml", "          env:\n", "          env:\n            - name: COFFER_ROOT_KEY\n              value: \"00\"\n", "env COFFER_ROOT_KEY holds a secret"},
		{"root key from a missing Secret", "gateway.yaml", "          env:\n", "          env:\n            - name: COFFER_ROOT_KEY\n              valueFrom:\n                secretKeyRef:\n                  name: coffer-gateway\n                  key: root.hex\n", `Secret "coffer-gateway" has no key "root.hex"`},
		{"unknown fieldRef", "storage.yaml", "fieldPath: spec.nodeName", "fieldPath: status.hostIP", "fieldRef status.hostIP is not checked"},
		{"binary rejects a value", "storage.yaml", "--log-format=json", "--log-format=yaml", `coffer server rejects the configuration`},
		{"binary rejects a bootstrap without this voter", "meta.yaml", ",coffer-meta-2=coffer-meta-2.coffer-meta.coffer.svc:7000", "", "coffer server rejects the configuration"},
		{"probe path", "gateway.yaml", "path: /-/ready", "path: /ready", `readinessProbe: path "/ready"`},
		{"service selects nothing", "services.yaml", "app.kubernetes.io/component: gateway\n  ports", "app.kubernetes.io/component: gatway\n  ports", "selects no pods"},
		{"service target port", "services.yaml", "targetPort: https", "targetPort: http-tls", "targets http-tls/TCP"},
		{"missing secret", "meta.yaml", "secretName: coffer-tls", "secretName: coffer-tsl", `no Secret "coffer-tsl"`},
		{"missing secret key", "gateway.yaml", "--credentials-file=/etc/coffer/gateway/credentials", "--credentials-file=/etc/coffer/gateway/creds", `Secret "coffer-gateway" has no key "creds"`},
		{"undefined volume", "storage.yaml", "- name: gossip\n              mountPath", "- name: gosip\n              mountPath", "volumeMount gosip: no such volume"},
		{"bootstrap beyond replicas", "meta.yaml", "coffer-meta-2=coffer-meta-2.", "coffer-meta-3=coffer-meta-3.", "no pod coffer-meta-3 behind Service coffer-meta"},
		{"dial wrong port", "storage.yaml", "coffer-meta-0.coffer-meta.coffer.svc:7000", "coffer-meta-0.coffer-meta.coffer.svc:7100", "has no --meta-listen on port 7100"},
		{"advertise other service", "storage.yaml", "--storage-advertise=$(POD_NAME).coffer-storage.", "--storage-advertise=$(POD_NAME).coffer-meta.", "want host coffer-storage-0.coffer-storage.coffer.svc"},
		{"undefined variable", "meta.yaml", "--node-id=$(POD_NAME)", "--node-id=$(POD)", "refers to $(POD)"},
		{"writable root", "gateway.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "want readOnlyRootFilesystem"},
		{"data on no claim", "storage.yaml", "--data=/data", "--data=/var/data", `--data="/var/data" is not on a persistent volume claim`},
		{"overlapping budgets", "pdb.yaml", "      app.kubernetes.io/component: gateway", "      coffer.io/shards: \"true\"", "match 2 PodDisruptionBudgets"},
		{"resource missing", "gateway.yaml", "memory: 512Mi", "memroy: 512Mi", "no memory request and limit"},
		{"resource list", "kustomization.yaml", "  - pdb.yaml\n", "", "want every manifest of the directory"},
		{"CA key in cluster", "kustomization.yaml", "node-key.pem=secrets/tls/node-key.pem", "node-key.pem=secrets/tls/ca-key.pem", "the CA's private key must not enter the cluster"},
		{"not generated", "kustomization.yaml", "gossip.key=secrets/gossip.key", "gossip.key=secrets/gossip.pem", "init-cluster writes no such file"},
		{"certificate misses a name", "README.md", "*.coffer-storage.coffer.svc,", "", "pods dial coffer-storage-0.coffer-storage.coffer.svc"},
		{"unknown kind", "services.yaml", "kind: Service\nmetadata:\n  name: coffer-gateway", "kind: Ingress\nmetadata:\n  name: coffer-gateway", "kind Ingress is not checked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := maps.Clone(good)
			if !bytes.Contains(tr[tc.file], []byte(tc.old)) {
				t.Fatalf("%s does not contain %q: update the case", tc.file, tc.old)
			}
			tr[tc.file] = bytes.Replace(tr[tc.file], []byte(tc.old), []byte(tc.new), 1)
			ps := check(c, t.TempDir(), tr)
			if !slices.ContainsFunc(ps, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("no problem mentions %q; got:\n%s", tc.want, strings.Join(ps, "\n"))
			}
		})
	}
}

// TestKustomizeBuild renders the directory with `kubectl kustomize`, where kubectl is
// installed, with secrets from the README's init-cluster command, and checks that the
// generated Secrets carry every key and that the workloads refer to their hashed names.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	dir := t.TempDir()
	tr := readTree(t)
	for name, b := range tr {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args, err := initArgs(tr["README.md"], filepath.Join(dir, "secrets"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cofferBin, append([]string{"admin"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("init-cluster: %v\n%s", err, out)
	}
	out, err := exec.Command(kubectl, "kustomize", dir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v", err)
	}
	var kust kustomization
	if err := yaml.Unmarshal(tr["kustomization.yaml"], &kust); err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]string{} // rendered name → keys
	var refs []string
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var doc struct {
			Kind     string            `yaml:"kind"`
			Metadata objectMeta        `yaml:"metadata"`
			Data     map[string]string `yaml:"data"`
			Spec     struct {
				Template struct {
					Spec podSpec `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if doc.Kind != "Namespace" && doc.Metadata.Namespace != kust.Namespace {
			t.Errorf("%s/%s: namespace %q", doc.Kind, doc.Metadata.Name, doc.Metadata.Namespace)
		}
		switch doc.Kind {
		case "Secret":
			secrets[doc.Metadata.Name] = slices.Sorted(maps.Keys(doc.Data))
		case "StatefulSet", "Deployment":
			for _, v := range doc.Spec.Template.Spec.Volumes {
				if v.Secret != nil {
					refs = append(refs, v.Secret.SecretName)
				}
			}
		}
	}
	for _, g := range kust.SecretGenerator {
		var want []string
		for _, f := range g.Files {
			key, _, _ := strings.Cut(f, "=")
			want = append(want, key)
		}
		slices.Sort(want)
		found := false
		for name, keys := range secrets {
			if strings.HasPrefix(name, g.Name+"-") && slices.Equal(keys, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no rendered Secret %s-<hash> with keys %v (rendered: %v)", g.Name, want, secrets)
		}
	}
	if len(refs) == 0 {
		t.Error("no workload mounts a Secret")
	}
	for _, r := range refs {
		if _, ok := secrets[r]; !ok {
			t.Errorf("a workload mounts Secret %q, which the build does not render", r)
		}
	}
}
