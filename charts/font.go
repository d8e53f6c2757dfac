// Package charts draws the 进度 and 统计 pictures (PNG) with gonum.org/v1/plot and a CJK font
// found on the machine (docs/charts.md). It reads the month's Assessment as the report
// builds it and adds no rule of its own beyond sorting cases into the bars.
package charts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
)

// FontEnv names the environment variable that points at the CJK font file (.ttc, .ttf or
// .otf) the charts use; without it the DefaultFontPaths are tried, then fontconfig.
const FontEnv = "FANGPIN_CJK_FONT"

// DefaultFontPaths are where Debian's CJK font packages put their files;
// scripts/chromium.sh installs fonts-wqy-microhei, the first.
var DefaultFontPaths = []string{
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/arphic/uming.ttc",
}

// ErrNoFont says no CJK font was found: the charts would show empty boxes instead of words.
var ErrNoFont = errors.New("charts: no CJK font found: set " + FontEnv +
	" to a .ttc/.ttf file with Chinese glyphs, or install fonts-wqy-microhei (scripts/chromium.sh does)")

// typeface is the name the font is registered under in gonum/plot's font cache.
const typeface = "FangpinCJK"

var (
	fontOnce sync.Once
	fontPath string
	fontErr  error
)

// FontPath is the font file the charts use (after the first chart or Init).
func FontPath() string { Init(); return fontPath }

// Init finds and loads the CJK font once and makes it gonum/plot's default for every
// chart this process draws. It returns ErrNoFont (wrapped) when there is none.
func Init() error {
	fontOnce.Do(func() {
		fontPath, fontErr = findFont(os.Getenv(FontEnv))
		if fontErr != nil {
			return
		}
		var f *opentype.Font
		if f, fontErr = LoadFont(fontPath); fontErr != nil {
			return
		}
		font.DefaultCache.Add(font.Collection{{Font: font.Font{Typeface: typeface}, Face: f}})
		plot.DefaultFont = font.Font{Typeface: typeface}
	})
	return fontErr
}

// findFont returns the configured font, or the first default that exists, or what
// fontconfig knows for Chinese.
func findFont(configured string) (string, error) {
	if configured != "" {
		if _, err := os.Stat(configured); err != nil {
			return "", fmt.Errorf("charts: %s=%s: %w", FontEnv, configured, err)
		}
		return configured, nil
	}
	for _, p := range DefaultFontPaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if out, err := exec.Command("fc-list", ":lang=zh", "file").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			p := strings.TrimSuffix(strings.TrimSpace(line), ":")
			if strings.HasSuffix(p, ".ttc") || strings.HasSuffix(p, ".ttf") || strings.HasSuffix(p, ".otf") {
				return p, nil
			}
		}
	}
	return "", ErrNoFont
}

// LoadFont parses a font file, a collection (.ttc) included, and returns the first font in
// it that has Chinese glyphs. Each font is first copied out with its tables on four-byte
// boundaries: golang.org/x/image's parser insists on them, and WenQuanYi's collection
// (Debian's fonts-wqy-microhei) does not keep them.
func LoadFont(path string) (*opentype.Font, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("charts: read font: %w", err)
	}
	offsets := []uint32{0}
	if len(data) >= 12 && string(data[:4]) == "ttcf" {
		n := binary.BigEndian.Uint32(data[8:])
		if n == 0 || n > 64 || len(data) < 12+4*int(n) {
			return nil, fmt.Errorf("charts: font %s: bad collection header", path)
		}
		offsets = offsets[:0]
		for i := range n {
			offsets = append(offsets, binary.BigEndian.Uint32(data[12+4*i:]))
		}
	}
	var buf sfnt.Buffer
	var lastErr error
	for _, off := range offsets {
		single, err := alignedFont(data, off)
		if err != nil {
			lastErr = err
			continue
		}
		f, err := opentype.Parse(single)
		if err != nil {
			lastErr = err
			continue
		}
		if g, err := f.GlyphIndex(&buf, '县'); err == nil && g != 0 {
			return f, nil
		}
	}
	if lastErr != nil {
		return nil, fmt.Errorf("charts: font %s: %v: %w", path, lastErr, ErrNoFont)
	}
	return nil, fmt.Errorf("charts: font %s has no Chinese glyphs: %w", path, ErrNoFont)
}

// alignedFont copies the font whose table directory starts at off into a standalone font
// file, each table starting on a four-byte boundary.
func alignedFont(data []byte, off uint32) ([]byte, error) {
	if int(off)+12 > len(data) {
		return nil, errors.New("table directory out of range")
	}
	dir := data[off:]
	n := int(binary.BigEndian.Uint16(dir[4:]))
	if 12+16*n > len(dir) {
		return nil, errors.New("table directory out of range")
	}
	head := 12 + 16*n
	out := make([]byte, head, len(data))
	copy(out, dir[:12])
	for i := range n {
		rec := dir[12+16*i : 28+16*i]
		o, l := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(o)+uint64(l) > uint64(len(data)) {
			return nil, fmt.Errorf("table %q out of range", rec[:4])
		}
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		r := out[12+16*i : 28+16*i]
		copy(r, rec[:8])
		binary.BigEndian.PutUint32(r[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(r[12:], l)
		out = append(out, data[o:o+l]...)
	}
	return out, nil
}
