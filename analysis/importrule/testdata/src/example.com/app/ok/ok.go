// Package ok imports nothing a rule forbids it.
package ok

import (
	"fmt"

	"example.com/other"
)

func Run() { fmt.Println(); other.Do() }
