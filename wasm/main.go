package main

import (
	ui "github.com/aispace/credits/app"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

func main() {
	ui.Routes()
	app.RunWhenOnBrowser()
}
