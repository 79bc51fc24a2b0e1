// Package vnl parses VNLs (Virtual Network Locators, "module://argument")
// and opens the endpoint they name through a registry of modules, the Go
// counterpart of libvdeplug's vde_open and of the option parsers that its
// modules share (spec vdeplug-and-tools.md §1.1–1.2).
//
// Modules register themselves by name with Register (the package that
// assembles the binary does it; module packages export their Opener and do
// not register from init). Open splits the VNL with Split, finds the module
// and calls its Opener with the argument; the Opener parses the argument
// with ParseBracket, ParseSlash or ParseNested as its C counterpart does.
package vnl

import (
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/govde/govde/transports"
)

// Args are the caller's settings for an open: libvdeplug's
// struct vde_open_args (interface version 1) plus the description.
// Modules that do not use a field ignore it.
type Args struct {
	// Port is the switch port to ask for (vde://; used only when the VNL
	// names no portgroup). 0 means any port.
	Port int
	// Group is the group (name or number) to give the data socket (vde://,
	// ptp://); "" means the module's default.
	Group string
	// Mode is the permission of sockets the module creates; 0 means the
	// module's default (0700 for vde://). Unlike C, where an explicit 0
	// chmods the socket to 000, 0 is never applied literally.
	Mode os.FileMode
	// Descr is the description the module may show its peer (vde:// sends it
	// to the switch). Open rewrites it, see Description.
	Descr string
	// MaxFrame is the largest frame the endpoint should move; 0 means the
	// module's default.
	MaxFrame int

	described bool // Descr already went through Description
}

// Opener opens the endpoint of one module. arg is the VNL's text after
// "://", not yet unquoted or decoded. The returned endpoint belongs to the
// caller, who must Close it. An Opener may block while connecting; it must
// not keep a reference to a after returning.
type Opener func(arg string, a Args) (transports.Endpoint, error)

var (
	mu      sync.RWMutex
	modules = map[string]Opener{}
)

// Register makes a module available to Open under its VNL name ("vde",
// "null", …). It panics if the name is empty or contains "://", if open
// is nil, or if the name is already registered. It is safe for concurrent
// use but meant to be called during start-up.
func Register(module string, open Opener) {
	if module == "" || strings.Contains(module, "://") {
		panic("vnl: Register: invalid module name " + `"` + module + `"`)
	}
	if open == nil {
		panic("vnl: Register: nil Opener for module " + module)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := modules[module]; dup {
		panic("vnl: Register: module " + module + " registered twice")
	}
	modules[module] = open
}

// Modules returns the registered module names, sorted.
func Modules() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(modules))
	for m := range modules {
		names = append(names, m)
	}
	slices.Sort(names)
	return names
}

// Open opens the endpoint named by vnl, like libvdeplug's vde_open: it
// splits vnl with Split, rewrites a.Descr with Description (once: an Args
// that already went through Open, as a nested module passes on, is left
// alone), and calls the module's Opener with the argument. An unregistered
// module returns a *ModuleError (errors.Is(err, syscall.EPROTONOSUPPORT));
// other errors come from Split or from the module. Open blocks as long as
// the module's Opener does. The caller owns the returned endpoint.
func Open(vnl string, a Args) (transports.Endpoint, error) {
	module, arg, err := Split(vnl)
	if err != nil {
		return nil, err
	}
	mu.RLock()
	open := modules[module]
	mu.RUnlock()
	if open == nil {
		return nil, &ModuleError{Module: module}
	}
	if !a.described {
		a.Descr = Description(a.Descr)
		a.described = true
	}
	return open(arg, a)
}
