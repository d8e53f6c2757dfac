package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// parseFlags parses a subcommand's flags, saying in Chinese on stderr what was wrong: the
// flag package's own messages are English ("invalid value … parse error"), and the people
// who run these commands in a county office read Chinese. The caller prints its usage line.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if err == nil {
		return nil
	}
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stderr)
		fs.PrintDefaults()
		return err
	}
	fmt.Fprintln(os.Stderr, flagError(fs, err))
	return err
}

var invalidValue = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-(\S+): `)

// flagError is the Chinese for one of the flag package's parse errors.
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return fmt.Sprintf("不认识的参数 --%s，请对照下面的用法检查拼写。", strings.TrimLeft(name, "-"))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Sprintf("参数 --%s 后面缺少取值。", strings.TrimLeft(name, "-"))
	}
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("参数 --%s 的取值“%s”不对：%s。", m[2], m[1], valueHint(fs.Lookup(m[2])))
	}
	return "参数有误：" + msg
}

// valueHint says what kind of value a flag takes.
func valueHint(f *flag.Flag) string {
	if f == nil {
		return "请对照下面的用法检查"
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return "请对照下面的用法检查"
	}
	switch g.Get().(type) {
	case bool:
		return "应为 true 或 false"
	case int, int64, uint, uint64:
		return "应为整数，例如 " + f.DefValue
	case float64:
		return "应为数字，例如 " + f.DefValue
	case time.Duration:
		return "应为时长，例如 30s、5m"
	}
	return "请对照下面的用法检查"
}
