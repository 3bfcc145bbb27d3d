// Package flagenv defines string flags with an environment twin: the
// environment variable, when set, replaces the default, and a flag on the
// command line wins over both (STYLE.md "Config"). cmd/hubd and
// cmd/twiliofake share it.
package flagenv

import "flag"

// String defines the string flag name on fs, stored in p, whose default is
// def unless getenv(env) is not empty; the usage names the variable.
func String(fs *flag.FlagSet, getenv func(string) string, p *string, name, env, def, usage string) {
	if v := getenv(env); v != "" {
		def = v
	}
	fs.StringVar(p, name, def, usage+" (env "+env+")")
}
