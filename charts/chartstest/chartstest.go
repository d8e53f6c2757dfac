// Package chartstest checks drawn charts in tests.
package chartstest

import (
	"bytes"
	"image"
	"image/png"
	"testing"
)

// CheckPNG decodes a chart and fails unless it is at least MinWidth wide and drawn: many
// colours and a good share of non-white pixels. It returns the image.
func CheckPNG(t testing.TB, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 800 {
		t.Fatalf("chart %d px wide, want at least 800", b.Dx())
	}
	colors := map[[3]uint32]bool{}
	nonWhite := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				nonWhite++
			}
		}
	}
	if len(colors) < 20 || nonWhite < b.Dx()*b.Dy()/4/50 {
		t.Fatalf("chart looks blank: %d colours, %d non-white sampled pixels", len(colors), nonWhite)
	}
	return img
}
