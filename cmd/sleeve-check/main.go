// Command sleeve-check guards the start of a container that runs Claude
// Code: see the README, or run sleeve-check --help.
package main

import (
	"os"

	"sleeve-check/entrypoint"
)

func main() {
	os.Exit(entrypoint.Main(os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr))
}
