package sheet

import (
	"bytes"
	"io"
)

// sizeGuard refuses a stream longer than MaxFileBytes.
type sizeGuard struct {
	r   io.Reader
	n   int64
	max int64
}

func (g *sizeGuard) Read(p []byte) (int, error) {
	if g.n > g.max {
		return 0, ErrFileTooLarge
	}
	if rest := g.max + 1 - g.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	if g.n > g.max {
		return 0, ErrFileTooLarge
	}
	return n, err
}

// CSV field states, as encoding/csv with LazyQuotes reads them.
const (
	csvFieldStart   = iota // at the start of a field
	csvUnquoted            // inside a field that did not start with a quote
	csvQuoted              // inside a quoted field
	csvQuoteInQuote        // a quote inside a quoted field: its end, or the first of ""
)

// lineGuard bounds a CSV record (a line, or several when a quoted field holds line
// breaks) to MaxLineBytes before encoding/csv gathers it into memory. It follows quoting
// the way encoding/csv does with LazyQuotes, on the raw bytes: in UTF-8 and in GBK/GB18030
// the bytes of '"', ',' and '\n' only ever stand for themselves.
type lineGuard struct {
	r       io.Reader
	max     int
	state   int
	recLen  int // bytes of the current record so far
	line    int // the file's physical line being read, 1-based
	recLine int // the physical line where the current record began
	sep     byte
	err     error
}

func newLineGuard(r io.Reader) *lineGuard {
	return &lineGuard{r: r, max: MaxLineBytes, line: 1, recLine: 1, sep: ','}
}

func (g *lineGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	if !g.scan(p[:n]) {
		return 0, g.err
	}
	return n, err
}

// scan follows the bytes read; it is false once the record is too long. Outside a quoted
// field, bytes without a quote only end fields and lines, so those are found with
// bytes.IndexByte rather than looked at one by one (a tenth of an import's reading).
func (g *lineGuard) scan(p []byte) bool {
	if (g.state == csvFieldStart || g.state == csvUnquoted) && bytes.IndexByte(p, '"') < 0 {
		return g.scanUnquoted(p)
	}
	return g.scanBytes(p)
}

// scanUnquoted is scanBytes for bytes without a quote, outside a quoted field.
func (g *lineGuard) scanUnquoted(p []byte) bool {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if g.recLen += len(p); g.recLen > g.max {
				g.err = errLineTooLong(g.recLine)
				return false
			}
			if p[len(p)-1] == g.sep {
				g.state = csvFieldStart
			} else {
				g.state = csvUnquoted
			}
			return true
		}
		if g.recLen += i + 1; g.recLen > g.max {
			g.err = errLineTooLong(g.recLine)
			return false
		}
		g.line++
		g.state, g.recLen, g.recLine = csvFieldStart, 0, g.line
		p = p[i+1:]
	}
	return true
}

// scanBytes follows the bytes one by one, quotes included.
func (g *lineGuard) scanBytes(p []byte) bool {
	for _, c := range p {
		g.recLen++
		if g.recLen > g.max {
			g.err = errLineTooLong(g.recLine)
			return false
		}
		switch c {
		case '\n':
			g.line++
			if g.state != csvQuoted {
				g.state, g.recLen, g.recLine = csvFieldStart, 0, g.line
			}
		case '"':
			switch g.state {
			case csvFieldStart, csvQuoteInQuote:
				g.state = csvQuoted
			case csvQuoted:
				g.state = csvQuoteInQuote
			}
		case g.sep:
			if g.state != csvQuoted {
				g.state = csvFieldStart
			}
		case '\r':
			if g.state == csvFieldStart {
				g.state = csvUnquoted
			}
		default:
			switch g.state {
			case csvFieldStart:
				g.state = csvUnquoted
			case csvQuoteInQuote:
				g.state = csvQuoted // LazyQuotes: a lone quote inside a quoted field is kept
			}
		}
	}
	return true
}
