package cases

import "fmt"

// The enums below are stored and compared as English codes, but everything people read —
// messages, pages, exports, the JSON of the CLI (docs/datalayer.md) — shows the Chinese
// label: String and MarshalText give Label(), UnmarshalText takes either. A database read
// scans the code as it is, a write sends the code.

func (r Result) String() string               { return r.Label() }
func (r Result) MarshalText() ([]byte, error) { return []byte(r.Label()), nil }
func (r *Result) UnmarshalText(b []byte) error {
	return unmarshalEnum(r, b, "核查结论", ParseResult)
}

func (k Kind) String() string               { return k.Label() }
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.Label()), nil }
func (k *Kind) UnmarshalText(b []byte) error {
	return unmarshalEnum(k, b, "案件类型", ParseKind)
}

func (s CaseSource) String() string               { return s.Label() }
func (s CaseSource) MarshalText() ([]byte, error) { return []byte(s.Label()), nil }
func (s *CaseSource) UnmarshalText(b []byte) error {
	return unmarshalEnum(s, b, "预警来源", ParseCaseSource)
}

func (r SpotResult) String() string               { return r.Label() }
func (r SpotResult) MarshalText() ([]byte, error) { return []byte(r.Label()), nil }
func (r *SpotResult) UnmarshalText(b []byte) error {
	return unmarshalEnum(r, b, "抽查结果", ParseSpotResult)
}

func (c Change) String() string               { return c.Label() }
func (c Change) MarshalText() ([]byte, error) { return []byte(c.Label()), nil }
func (c *Change) UnmarshalText(b []byte) error {
	return unmarshalEnum(c, b, "变动类型", ParseChange)
}

// unmarshalEnum sets *v from a label or a code; empty text is the zero value.
func unmarshalEnum[T ~string](v *T, b []byte, what string, parse func(string) (T, bool)) error {
	if len(b) == 0 {
		*v = ""
		return nil
	}
	p, ok := parse(string(b))
	if !ok {
		return fmt.Errorf("%s %q 无法识别", what, b)
	}
	*v = p
	return nil
}
