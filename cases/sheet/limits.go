package sheet

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// The limits of docs/limits.md on every table the system reads: a department file (`fangpin
// import`, POST /api/v1/batches) and the registry (`fangpin registry import`). They are the
// one definition; the API and the CLI take them from here.
const (
	// MaxFileBytes is the largest file accepted, as uploaded (CSV or XLSX).
	MaxFileBytes = 50 << 20
	// MaxUnpackedBytes bounds an XLSX's parts once unpacked, all together: checked against
	// the sizes the zip declares and against the bytes actually inflated.
	MaxUnpackedBytes = 500 << 20
	// MaxRows is Excel's own row limit (header included).
	MaxRows = 1_048_576
	// MaxColumns is the widest row read: a non-empty cell right of it refuses the file.
	MaxColumns = 256
	// MaxCellChars is Excel's own limit of characters in a cell.
	MaxCellChars = 32_767
	// MaxLineBytes bounds a CSV line (a record, quoted line breaks included) and the text
	// of an XLSX row, and every single XML element or text run inside an XLSX.
	MaxLineBytes = 1 << 20
	// MaxSharedStringsBytes bounds the XLSX shared-string table kept in memory while a
	// sheet is read (its text plus 8 bytes a string).
	MaxSharedStringsBytes = 64 << 20
	// MaxZipDirectoryBytes bounds an XLSX's zip directory (the list of its parts); an
	// ordinary workbook's is a few kilobytes.
	MaxZipDirectoryBytes = 1 << 20
	// MaxListedErrors caps the row errors an import lists in its answer (every refused row
	// is still counted).
	MaxListedErrors = 10000
	// MaxMessageRunes clips a row error's message, which may quote a cell.
	MaxMessageRunes = 200
	// maxXMLDepth bounds the nesting of XML elements in an XLSX part.
	maxXMLDepth = 64
)

// LimitError is input refused because it exceeds one of the limits above. Msg is polite
// Chinese naming the limit.
type LimitError struct {
	Msg string
}

func (e *LimitError) Error() string { return e.Msg }

func limitf(format string, args ...any) error {
	return &LimitError{Msg: fmt.Sprintf(format, args...)}
}

// IsLimit reports whether err (or an error it wraps) is a *LimitError.
func IsLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}

// Human forms of the limits, for messages.
const (
	fileLimitText      = "50 MB"
	unpackedLimitText  = "500 MB"
	rowsLimitText      = "1,048,576 行"
	columnsLimitText   = "256 列"
	cellLimitText      = "32,767 个字符"
	lineLimitText      = "1 MB"
	sharedStringsText  = "64 MB"
	zipDirectoryText   = "1 MB"
	xmlDepthLimitText  = "64 层"
	tooLargeFileAdvice = "请分成几个文件"
)

// ErrFileTooLarge is the refusal of a file over MaxFileBytes.
var ErrFileTooLarge error = &LimitError{Msg: "文件超过 " + fileLimitText + " 的上限，" + tooLargeFileAdvice + "分别导入"}

func errTooManyRows() error {
	return limitf("文件超过 %s的上限（Excel 的行数上限），%s分别导入", rowsLimitText, tooLargeFileAdvice)
}

func errTooManyColumns(row int) error {
	return limitf("文件第 %d 行超过 %s的上限，请删去多余的列", row, columnsLimitText)
}

func errCellTooLong(row, col int) error {
	return limitf("文件第 %d 行第 %d 列的单元格超过 %s的上限", row, col, cellLimitText)
}

func errLineTooLong(row int) error {
	return limitf("文件第 %d 行超过 %s 的单行上限", row, lineLimitText)
}

// ClipMessage shortens a row error's message that quotes a long cell to MaxMessageRunes.
func ClipMessage(msg string) string {
	if len(msg) <= MaxMessageRunes || utf8.RuneCountInString(msg) <= MaxMessageRunes {
		return msg
	}
	return string([]rune(msg)[:MaxMessageRunes]) + "……"
}
