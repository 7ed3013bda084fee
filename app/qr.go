package app

import (
	"html"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	qrcode "github.com/skip2/go-qrcode"
)

// qrCode draws Data as a QR code: an inline SVG of its dark modules, one <path>
// with a run of modules per segment. An SVG of modules stays sharp at any size
// and costs the wasm nothing beyond the encoder (a PNG data URL would pull in
// image/png's encoder and its compression at run time). The quiet zone of four
// modules that scanners need is part of the drawing.
type qrCode struct {
	app.Compo

	Data  string // what the code says, e.g. an EIP-681 URI
	Label string // its accessible name, said instead of the modules
}

func (q *qrCode) Render() app.UI {
	svg, err := qrSVG(q.Data, q.Label)
	if err != nil {
		return app.P().Class("hint").Text("The QR code could not be drawn: " + err.Error())
	}
	return app.Div().Class("qr").Body(app.Raw(svg))
}

// qrSVG encodes data at the Medium error-correction level (15%, which keeps the
// code small enough to scan from a phone screen) and writes the SVG.
func qrSVG(data, label string) (string, error) {
	code, err := qrcode.New(data, qrcode.Medium)
	if err != nil {
		return "", err
	}
	bits := code.Bitmap() // includes the 4-module quiet zone
	n := strconv.Itoa(len(bits))
	var path strings.Builder
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			path.WriteString("M" + strconv.Itoa(start) + " " + strconv.Itoa(y) + "h" + strconv.Itoa(x-start) + "v1h-" + strconv.Itoa(x-start) + "z")
		}
	}
	return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + ` ` + n + `" role="img" aria-label="` +
		html.EscapeString(label) + `" shape-rendering="crispEdges"><rect width="` + n + `" height="` + n +
		`" fill="#fff"/><path fill="#000" d="` + path.String() + `"/></svg>`, nil
}
