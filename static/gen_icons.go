//go:build ignore

// gen_icons draws the app's icons: the PNGs the manifest lists (regular and maskable,
// 192 and 512 pixels) and the SVG used as the favicon. It is run by hand when the
// design changes, from the repository root:
//
//	go run static/gen_icons.go
//
// and its outputs are committed. The design is a white coin ring around a four-point
// sparkle on an indigo-to-violet gradient. A maskable icon fills its whole square and
// keeps the glyph inside the central circle of radius 40% (the safe zone that every
// launcher mask leaves visible); a regular icon is a rounded square with transparent
// corners.
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
)

// The glyph, in units of the icon's side.
type design struct {
	maskable   bool
	corner     float64 // radius of the rounded square (regular icons)
	ringOuter  float64 // outer radius of the coin ring
	ringWidth  float64
	sparkle    float64 // radius of the sparkle's points
	background [2]color.NRGBA
}

var (
	indigo = color.NRGBA{0x43, 0x38, 0xca, 0xff}
	violet = color.NRGBA{0x6d, 0x28, 0xd9, 0xff}

	regular  = design{corner: 0.22, ringOuter: 0.36, ringWidth: 0.06, sparkle: 0.2, background: [2]color.NRGBA{indigo, violet}}
	maskable = design{maskable: true, ringOuter: 0.29, ringWidth: 0.05, sparkle: 0.16, background: [2]color.NRGBA{indigo, violet}}
)

func main() {
	dir := "static"
	if _, err := os.Stat(filepath.Join(dir, "embed.go")); err != nil {
		log.Fatal("run from the repository root: go run static/gen_icons.go")
	}
	for _, out := range []struct {
		name string
		size int
		d    design
	}{
		{"icon-192.png", 192, regular},
		{"icon-512.png", 512, regular},
		{"icon-maskable-192.png", 192, maskable},
		{"icon-maskable-512.png", 512, maskable},
	} {
		if err := writePNG(filepath.Join(dir, out.name), draw(out.size, out.d)); err != nil {
			log.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "icon.svg"), []byte(svg(regular)), 0o644); err != nil {
		log.Fatal(err)
	}
}

// draw renders the design at size×size with 4×4 supersampling for smooth edges.
func draw(size int, d design) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					// x, y in [0,1), centre at (0.5, 0.5).
					x := (float64(px) + (float64(sx)+0.5)/ss) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/ss) / float64(size)
					c, ok := sample(d, x, y)
					if !ok {
						continue
					}
					r += float64(c.R)
					g += float64(c.G)
					b += float64(c.B)
					a++
				}
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(px, py, color.NRGBA{
				R: uint8(r / a), G: uint8(g / a), B: uint8(b / a),
				A: uint8(math.Round(255 * a / ss / ss)),
			})
		}
	}
	return img
}

// sample returns the colour of the design at (x, y), or false outside it.
func sample(d design, x, y float64) (color.NRGBA, bool) {
	if !d.maskable && !inRoundedSquare(x, y, d.corner) {
		return color.NRGBA{}, false
	}
	dx, dy := x-0.5, y-0.5
	dist := math.Hypot(dx, dy)
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	if dist <= d.ringOuter && dist >= d.ringOuter-d.ringWidth {
		return white, true
	}
	// A concave four-point star: sqrt|x| + sqrt|y| <= sqrt(R), the shape of four
	// quadratic curves through the centre (the same path as the SVG).
	if math.Sqrt(math.Abs(dx))+math.Sqrt(math.Abs(dy)) <= math.Sqrt(d.sparkle) {
		return white, true
	}
	// Diagonal gradient from the top left to the bottom right.
	t := (x + y) / 2
	c0, c1 := d.background[0], d.background[1]
	mix := func(a, b uint8) uint8 { return uint8(float64(a) + (float64(b)-float64(a))*t) }
	return color.NRGBA{mix(c0.R, c1.R), mix(c0.G, c1.G), mix(c0.B, c1.B), 0xff}, true
}

func inRoundedSquare(x, y, r float64) bool {
	cx := math.Max(r, math.Min(1-r, x))
	cy := math.Max(r, math.Min(1-r, y))
	return math.Hypot(x-cx, y-cy) <= r
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// svg writes the regular design on a 100×100 canvas.
func svg(d design) string {
	s := func(v float64) string { return fmt.Sprintf("%.2f", v*100) }
	r := d.sparkle
	return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">` +
		`<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">` +
		`<stop offset="0" stop-color="#4338ca"/><stop offset="1" stop-color="#6d28d9"/></linearGradient></defs>` +
		`<rect width="100" height="100" rx="` + s(d.corner) + `" fill="url(#g)"/>` +
		`<circle cx="50" cy="50" r="` + s(d.ringOuter-d.ringWidth/2) + `" fill="none" stroke="#fff" stroke-width="` + s(d.ringWidth) + `"/>` +
		`<path fill="#fff" d="M50 ` + s(0.5-r) + `Q50 50 ` + s(0.5+r) + ` 50Q50 50 50 ` + s(0.5+r) + `Q50 50 ` + s(0.5-r) + ` 50Q50 50 50 ` + s(0.5-r) + `Z"/>` +
		`</svg>` + "\n"
}
