// Command pair measures commands side by side: it runs them in turn, N
// rounds (each round in a rotated order, after a few warm-up rounds), and
// prints for each its median wall time with the 10th and 90th percentiles,
// and the median and spread of its ratio to the first command's time in
// the same round. On a noisy machine a ratio of paired runs holds where
// two separate medians drift apart. make bench runs it (e2e/bench.sh).
//
//	pair -n 40 'floor' 'sleeve-check --probe=off -- /bin/true' ...
//
// Each command is split at spaces and run without a shell; its output is
// discarded and its exit status ignored. The output is one tab-separated
// line per command: the command, median_ms, p10_ms, p90_ms, ratio, p10, p90.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 40, "rounds measured")
	warm := flag.Int("warmup", 5, "rounds run first and not measured")
	flag.Parse()
	cmds := flag.Args()
	if len(cmds) == 0 || *n <= 0 {
		fmt.Fprintln(os.Stderr, "usage: pair [-n ROUNDS] [-warmup ROUNDS] CMD...")
		os.Exit(2)
	}
	times := make([][]float64, len(cmds))
	for r := 0; r < *warm+*n; r++ {
		for k := range cmds {
			i := (k + r) % len(cmds)
			d, err := run(cmds[i])
			if err != nil {
				fmt.Fprintf(os.Stderr, "pair: %s: %v\n", cmds[i], err)
				os.Exit(1)
			}
			if r >= *warm {
				times[i] = append(times[i], d)
			}
		}
	}
	for i, c := range cmds {
		ratios := make([]float64, len(times[i]))
		for j := range times[i] {
			ratios[j] = times[i][j] / times[0][j]
		}
		fmt.Printf("%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n", c, quantile(times[i], .5), quantile(times[i], .1), quantile(times[i], .9),
			quantile(ratios, .5), quantile(ratios, .1), quantile(ratios, .9))
	}
}

// run runs one command and returns its wall time in milliseconds.
func run(command string) (float64, error) {
	f := strings.Fields(command)
	c := exec.Command(f[0], f[1:]...)
	t := time.Now()
	err := c.Run()
	if _, exited := err.(*exec.ExitError); exited {
		err = nil
	}
	return float64(time.Since(t).Microseconds()) / 1000, err
}

func quantile(x []float64, q float64) float64 {
	y := slices.Clone(x)
	slices.Sort(y)
	return y[int(q*float64(len(y)-1)+0.5)]
}
