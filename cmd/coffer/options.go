package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// configBytesMax bounds a YAML config file.
const configBytesMax = 1 << 20

// envPrefix starts the environment name of every option.
const envPrefix = "COFFER_"

// option is one setting of a subcommand, reachable under one name in three places:
// the flag --name, the environment variable COFFER_NAME (upper case, '-' → '_') and
// the YAML key name (with '-' → '_'). Precedence: flags > env > file > defaults.
type option[T any] struct {
	name  string
	usage string
	// field returns a pointer into the settings: *string, *[]string, *int64 or *bool.
	field func(*T) any
}

// envName is the option's environment variable.
func (o option[T]) envName() string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(o.name, "-", "_"))
}

// yamlName is the option's key in a config file.
func (o option[T]) yamlName() string { return strings.ReplaceAll(o.name, "-", "_") }

// setString sets the option from its textual form (flag or env value). Lists are
// comma-separated; empty elements are dropped.
func (o option[T]) setString(s *T, v string) error {
	switch p := o.field(s).(type) {
	case *string:
		*p = strings.TrimSpace(v)
	case *[]string:
		*p = splitList(v)
	case *int64:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not an integer", o.name, v)
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%s: %q is not a boolean", o.name, v)
		}
		*p = b
	default:
		panic(fmt.Sprintf("option %s: unsupported field type %T", o.name, p))
	}
	return nil
}

// setYAML sets the option from a config file node: a scalar, or for lists also a
// sequence of scalars.
func (o option[T]) setYAML(s *T, n *yaml.Node) error {
	if p, ok := o.field(s).(*[]string); ok && n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return fmt.Errorf("%s: %w", o.yamlName(), err)
		}
		*p = splitList(strings.Join(list, ","))
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s (line %d): want a single value", o.yamlName(), n.Line)
	}
	return o.setString(s, n.Value)
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

// source is where a load gets what is not on the command line.
type source struct {
	// env looks up an environment variable (os.LookupEnv in main).
	env func(string) (string, bool)
	// readFile reads a config file (os.ReadFile in main); nil: files are refused.
	readFile func(string) ([]byte, error)
}

// errHelp is returned when the user asked for usage (-h).
var errHelp = flag.ErrHelp

// load fills s — already holding the defaults — from a config file (only when
// configFile is non-nil: its path comes from --config or COFFER_CONFIG), then the
// environment, then args. It reports every bad value at once. Positional arguments
// are refused.
func load[T any](name string, opts []option[T], s *T, configFile *string, args []string, src source, usageOut io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(usageOut)
	fs.Usage = func() {
		fmt.Fprintf(usageOut, "usage: coffer %s [flags]\n\nflags (each also an env variable; precedence flags > env > file > defaults):\n", name)
		fs.PrintDefaults()
	}
	flagVals := map[string]string{}
	var flagOrder []string
	record := func(n string) func(string) error {
		return func(v string) error {
			if _, seen := flagVals[n]; !seen {
				flagOrder = append(flagOrder, n)
			}
			flagVals[n] = v
			return nil
		}
	}
	if configFile != nil {
		fs.Func("config", "YAML config file (env "+envPrefix+"CONFIG); keys are the flag names with '_' for '-'", record("config"))
	}
	for _, o := range opts {
		usage := o.usage + " (env " + o.envName() + ")"
		if _, isBool := o.field(s).(*bool); isBool {
			fs.BoolFunc(o.name, usage, record(o.name))
		} else {
			fs.Func(o.name, usage, record(o.name))
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var errs []error
	if configFile != nil {
		if v, ok := flagVals["config"]; ok {
			*configFile = v
		} else if v, ok := src.env(envPrefix + "CONFIG"); ok {
			*configFile = v
		}
		if *configFile != "" {
			if err := loadYAML(opts, s, *configFile, src); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, o := range opts {
		if v, ok := src.env(o.envName()); ok {
			if err := o.setString(s, v); err != nil {
				errs = append(errs, fmt.Errorf("env %s: %w", o.envName(), err))
			}
		}
	}
	byName := map[string]option[T]{}
	for _, o := range opts {
		byName[o.name] = o
	}
	for _, n := range flagOrder {
		o, ok := byName[n]
		if !ok {
			continue // --config
		}
		if err := o.setString(s, flagVals[n]); err != nil {
			errs = append(errs, fmt.Errorf("flag --%w", err))
		}
	}
	return errors.Join(errs...)
}

// loadYAML applies a config file: a mapping of option keys to values. Unknown keys
// are errors, so a typo does not silently fall back to a default.
func loadYAML[T any](opts []option[T], s *T, path string, src source) error {
	if src.readFile == nil {
		return fmt.Errorf("config %s: config files are not supported here", path)
	}
	data, err := src.readFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said once, below
		}
		return fmt.Errorf("config %s: %w", path, err)
	}
	if len(data) > configBytesMax {
		return fmt.Errorf("config %s: larger than %d bytes", path, configBytesMax)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file
		}
		return fmt.Errorf("config %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config %s: want a mapping of settings", path)
	}
	byKey := map[string]option[T]{}
	for _, o := range opts {
		byKey[o.yamlName()] = o
	}
	var errs []error
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		o, ok := byKey[k.Value]
		if !ok {
			errs = append(errs, fmt.Errorf("config %s line %d: unknown key %q (known: %s)", path, k.Line, k.Value, knownKeys(opts)))
			continue
		}
		if err := o.setYAML(s, v); err != nil {
			errs = append(errs, fmt.Errorf("config %s: %w", path, err))
		}
	}
	return errors.Join(errs...)
}

func knownKeys[T any](opts []option[T]) string {
	keys := make([]string, len(opts))
	for i, o := range opts {
		keys[i] = o.yamlName()
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
