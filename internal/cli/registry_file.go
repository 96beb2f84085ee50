package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/eventworker/eventworker/registry"
)

// registryFileEnv names the environment variable that points every registry command at an
// external registry.yaml, as --registry does.
const registryFileEnv = "EVENTWORKER_REGISTRY_FILE"

// registryFile is the --registry flag, shared by the group and its subcommands so that it may
// come before or after the subcommand's name.
type registryFile struct {
	path string
	// origin says where path came from, for error messages: "--registry" or the environment
	// variable; "" with the embedded registry.
	origin string
}

// String implements flag.Value.
func (f *registryFile) String() string {
	if f == nil {
		return ""
	}
	return f.path
}

// Set implements flag.Value; an empty value selects the embedded registry.
func (f *registryFile) Set(v string) error {
	f.path, f.origin = v, "--registry"
	return nil
}

const registryFlagHelp = "use the registry.yaml `FILE` instead of the embedded registry (default: $" + registryFileEnv + " when set)"

// register adds --registry to a subcommand's flags.
func (f *registryFile) register(fl *flags) { fl.Var(f, "registry", registryFlagHelp) }

// load loads the selected registry. Its errors name the file and where it was given, so that a
// stale environment variable is found quickly.
func (f *registryFile) load() (*registry.Registry, error) {
	if f.path == "" {
		r, err := registry.Default()
		if err != nil {
			return nil, fmt.Errorf("load the embedded registry: %w", err)
		}
		return r, nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in our message already
		}
		return nil, fmt.Errorf("cannot read registry file %s (given by %s): %w", f.path, f.origin, err)
	}
	r, err := registry.Load(b)
	if err != nil {
		return nil, fmt.Errorf("registry file %s (given by %s) is not a valid registry; fix it, or unset %s and drop --registry to use the embedded one:\n%w",
			f.path, f.origin, registryFileEnv, err)
	}
	return r, nil
}

// describe names the registry in messages: its file, or "the embedded registry".
func (f *registryFile) describe() string {
	if f.path == "" {
		return "the embedded registry"
	}
	return f.path
}
