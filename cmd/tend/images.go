package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/tendhq/tend/kubelet/images"
)

// runImages is `tend images SUBCOMMAND`: the node's image store, for
// machines without a registry and for looking at what a node holds.
func runImages(ctx context.Context, args []string) error {
	usage := func(w io.Writer) {
		fmt.Fprint(w, `usage: tend images SUBCOMMAND [--data-dir DIR] [ARGS]

subcommands:
  import FILE...   store the images of docker save or OCI archives (pinned: never collected)
  list             list the node's images
  pull REF         pull an image from its registry (anonymously)
  rm REF...        remove images by name or ID

The store is the node's: DIR/images, where DIR is the --data-dir of the
tend server or tend agent that runs the node.
`)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stdout)
		if len(args) == 0 {
			return errors.New("a subcommand is required")
		}
		return flag.ErrHelp
	}
	sub := args[0]
	fs := flag.NewFlagSet("tend images "+sub, flag.ContinueOnError)
	dataDir := fs.String("data-dir", defaultDataDir(), "the node's data directory")
	// Flags may come before or after the arguments, as kubectl's and crictl's.
	var pos []string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	store, err := images.Open(filepath.Join(*dataDir, "images"))
	if err != nil {
		return err
	}
	switch sub {
	case "import":
		if len(pos) == 0 {
			return errors.New("import: name the archives to import")
		}
		for _, path := range pos {
			imgs, err := store.Import(ctx, path)
			if err != nil {
				return err
			}
			for _, img := range imgs {
				fmt.Printf("imported %s %s\n", shortID(img.ID), strings.Join(img.RepoTags, " "))
			}
		}
		return nil
	case "list":
		if len(pos) > 0 {
			return fmt.Errorf("list: unexpected arguments %v", pos)
		}
		list, err := store.List()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "IMAGE\tTAG\tIMAGE ID\tSIZE\tPINNED")
		for _, img := range list {
			names := img.RepoTags
			if len(names) == 0 {
				names = []string{"<none>:<none>"}
			}
			for _, n := range names {
				repo, tag := n[:strings.LastIndex(n, ":")], n[strings.LastIndex(n, ":")+1:]
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\n", repo, tag, shortID(img.ID), humanSize(img.Size), img.Pinned)
			}
		}
		return tw.Flush()
	case "pull":
		if len(pos) != 1 {
			return errors.New("pull: name one image")
		}
		img, err := store.Pull(ctx, pos[0], images.PullOptions{})
		if err != nil {
			return err
		}
		fmt.Printf("pulled %s %s\n", shortID(img.ID), strings.Join(img.RepoDigests, " "))
		return nil
	case "rm":
		if len(pos) == 0 {
			return errors.New("rm: name the images to remove")
		}
		for _, ref := range pos {
			if err := store.Remove(ref); err != nil {
				return err
			}
			fmt.Printf("removed %s\n", ref)
		}
		return nil
	}
	usage(os.Stderr)
	return fmt.Errorf("unknown subcommand %q", sub)
}

// shortID is an image ID as crictl shows it: 13 hex digits.
func shortID(id string) string {
	_, h, _ := strings.Cut(id, ":")
	return h[:min(13, len(h))]
}

// humanSize is n bytes in the units `crictl images` uses.
func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.3gGB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.3gMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.3gkB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
