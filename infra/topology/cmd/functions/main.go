// Command functions lists the topology's functions for the Makefile: names,
// or "name entry" pairs with -entries.
package main

import (
	"flag"
	"fmt"

	"clientele/infra/topology"
)

func main() {
	entries := flag.Bool("entries", false, "print name and entry directory")
	flag.Parse()
	for _, f := range topology.Clientele().Functions {
		if *entries {
			fmt.Println(f.Name, f.Entry)
		} else {
			fmt.Println(f.Name)
		}
	}
}
