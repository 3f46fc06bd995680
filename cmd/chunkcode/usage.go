package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagError turns the errors of parsing flags into usage errors that name
// the flag and say what its value must be, without Go's parser messages,
// and suggest the nearest flag for one that does not exist.
func flagError(cmd *cobra.Command, err error) error {
	var invalid *pflag.InvalidValueError
	var unknown *pflag.NotExistError
	switch {
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		return usagef("--%s: %s", f.Name, valueProblem(f, invalid.GetValue(), errors.Unwrap(invalid)))
	case errors.As(err, &unknown) && unknown.GetSpecifiedShortnames() == "":
		name := unknown.GetSpecifiedName()
		if near := nearestFlag(cmd.Flags(), name); near != "" {
			return usagef("unknown flag --%s; did you mean --%s?", name, near)
		}
		return usagef("unknown flag --%s", name)
	}
	return &usageError{err: err}
}

// valueProblem says what is wrong with value, which f's Value refused with
// cause: in words for the standard number and duration flags, which report
// Go's parser errors, and cause itself for chunkcode's own flag types.
func valueProblem(f *pflag.Flag, value string, cause error) string {
	var num *strconv.NumError
	isNum := errors.As(cause, &num)
	switch typ := f.Value.Type(); {
	case isNum && strings.HasSuffix(typ, "Slice"):
		return fmt.Sprintf("%q is not a list of whole numbers (for example 1,2,4)", value)
	case isNum && strings.HasPrefix(typ, "float"):
		return fmt.Sprintf("%q is not a number", value)
	case isNum && (strings.HasPrefix(typ, "int") || strings.HasPrefix(typ, "uint")):
		return fmt.Sprintf("%q is not a whole number", value)
	case isNum && typ == "bool":
		return fmt.Sprintf("%q is not true or false", value)
	case typ == "duration":
		return fmt.Sprintf("%q is not a duration (for example 250ms or 2s)", value)
	case cause != nil:
		return cause.Error()
	}
	return fmt.Sprintf("%q is not valid", value)
}

// nearestFlag returns the name of the visible flag in fs nearest to name,
// when it is near enough to be a typo, or "".
func nearestFlag(fs *pflag.FlagSet, name string) string {
	best, bestDist := "", 3 // at most two edits
	if len(name) <= 3 {
		bestDist = 2
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if d := editDistance(name, f.Name); d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// exactArgs accepts exactly n operands; anything else is a usage error that
// shows the command's operands and its first example.
func exactArgs(n int) cobra.PositionalArgs { return rangeArgs(n, n) }

// rangeArgs is exactArgs for commands that take from lo to hi operands.
func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= lo && len(args) <= hi {
			return nil
		}
		msg := "usage: " + cmd.CommandPath()
		if _, operands, ok := strings.Cut(cmd.Use, " "); ok {
			msg += " " + operands
		}
		if len(args) > 0 {
			msg += fmt.Sprintf(" (got %s)", plural(len(args), "argument"))
		}
		err := &usageError{err: errors.New(msg)}
		if example, _, _ := strings.Cut(strings.TrimSpace(cmd.Example), "\n"); example != "" {
			err.hint = "example: " + example
		}
		return err
	}
}

// unknownCommand refuses any operand of the root command, which can only be
// a command that does not exist, suggesting the nearest one.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	if near := cmd.SuggestionsFor(args[0]); len(near) > 0 {
		msg += "; did you mean " + near[0] + "?"
	}
	return &usageError{err: errors.New(msg)}
}
