// Strict --key=value flags (../README.md, "The contract every peer program keeps"): an unknown
// or repeated flag, a missing required one or a bad value is a usage error (exit 2), and every
// message names the bad flag or value and what is valid. The same rules as the Tokio peer's.
package main

import (
	"fmt"
	"strconv"
	"strings"
)

type flags map[string]string

// parseFlags reads args (after the mode), accepting only the keys in valid.
func parseFlags(args []string, valid []string) (flags, error) {
	f := flags{}
	for _, arg := range args {
		key, value, ok := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		if !ok || !strings.HasPrefix(arg, "--") {
			return nil, fmt.Errorf("'%s' is not --key=value", arg)
		}
		if !contains(valid, key) {
			return nil, fmt.Errorf("unknown flag --%s (valid: --%s)", key, strings.Join(valid, ", --"))
		}
		if _, twice := f[key]; twice {
			return nil, fmt.Errorf("flag --%s given twice", key)
		}
		f[key] = value
	}
	return f, nil
}

// text is the flag's value, def when absent; a nil def makes the flag required.
func (f flags) text(key string, def *string) (string, error) {
	if v, ok := f[key]; ok {
		return v, nil
	}
	if def == nil {
		return "", fmt.Errorf("missing required flag --%s", key)
	}
	return *def, nil
}

// int is the flag as an integer >= min (1 for counts, 0 for a port), def when absent.
func (f flags) int(key string, def *int64, min int64) (int64, error) {
	var d *string
	if def != nil {
		s := strconv.FormatInt(*def, 10)
		d = &s
	}
	text, err := f.text(key, d)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil || v < min {
		return 0, fmt.Errorf("--%s=%s: want an integer >= %d", key, text, min)
	}
	return v, nil
}

// choice is the flag as one of choices, def when absent.
func (f flags) choice(key string, def *string, choices []string) (string, error) {
	v, err := f.text(key, def)
	if err != nil {
		return "", err
	}
	if !contains(choices, v) {
		return "", fmt.Errorf("--%s=%s: want one of %s", key, v, strings.Join(choices, ", "))
	}
	return v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
