package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// sh runs `sh -c SCRIPT`: a tiny shell whose commands are testapp's own,
// run one after the other in this process. Enough for probes and exec in
// tests (`sh -c 'echo hi; cat /etc/hostname'`), and no more:
//
//   - A script is simple commands separated by `;`, newlines or `&&`
//     (`a && b` runs b only if a succeeded); the status is the last run's.
//   - Words split on blanks; 'single' and "double" quotes and backslash
//     escapes work as in sh, but nothing is expanded: `$`, backquotes,
//     pipes, `||`, redirections, `&`, subshells and comments are refused
//     with an error rather than misread; `*`, `?`, `[` and `~` are literal.
//   - A command name is looked up by its base name among testapp's commands
//     (`/bin/echo` is echo; a leading `testapp` word is dropped); there are
//     no other programs, builtins or variables (`FOO=bar cmd` fails).
//   - `exit N` ends the script with N; a failing command prints its error
//     to stderr and the script goes on (`;`) or skips (`&&`).
//   - Arguments after SCRIPT ($0, $1, …) are ignored; only -c is supported.
func (a *app) sh(args []string) error {
	if len(args) < 2 || args[0] != "-c" {
		return errors.New("usage: sh -c SCRIPT (only -c is supported)")
	}
	steps, err := parseScript(args[1])
	if err != nil {
		return err
	}
	status := 0
	for _, st := range steps {
		if st.and && status != 0 {
			continue
		}
		words := st.args
		if filepath.Base(words[0]) == "testapp" && len(words) > 1 {
			words = words[1:]
		}
		name := filepath.Base(words[0])
		err := a.run(append([]string{name}, words[1:]...))
		var code exitCode
		switch {
		case err == nil:
			status = 0
		case errors.As(err, &code) && name == "exit":
			return err
		case errors.As(err, &code):
			status = int(code)
		default:
			fmt.Fprintf(a.stderr, "sh: %v\n", err)
			status = 1
		}
	}
	if status != 0 {
		return exitCode(status)
	}
	return nil
}

// step is one simple command of a script.
type step struct {
	args []string
	and  bool // joined to the previous step by &&: runs only if that succeeded
}

// parseScript splits a script into steps; see sh for the grammar.
func parseScript(script string) ([]step, error) {
	var (
		steps  []step
		cur    []string // the words of the command being read
		word   strings.Builder
		inWord bool   // a word has started (it may be empty: '')
		joinOp string // the operator before the command being read: "", ";" or "&&"
	)
	endWord := func() {
		if inWord {
			cur = append(cur, word.String())
			word.Reset()
			inWord = false
		}
	}
	endCommand := func(op string) error {
		endWord()
		if len(cur) == 0 {
			if op == "\n" {
				return nil // blank lines, and a newline after && or ;, are fine
			}
			return fmt.Errorf("syntax error: %q with no command before it", op)
		}
		steps = append(steps, step{args: cur, and: joinOp == "&&"})
		cur = nil
		joinOp = op
		return nil
	}

	rs := []rune(script)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch c {
		case ' ', '\t':
			endWord()
		case '\n', ';':
			if err := endCommand(string(c)); err != nil {
				return nil, err
			}
		case '&':
			if i+1 < len(rs) && rs[i+1] == '&' {
				i++
				if err := endCommand("&&"); err != nil {
					return nil, err
				}
				continue
			}
			return nil, errors.New("background jobs (&) are not supported")
		case '|':
			return nil, errors.New("pipes and || are not supported")
		case '<', '>':
			return nil, errors.New("redirections are not supported")
		case '$', '`':
			return nil, fmt.Errorf("expansions (%c) are not supported", c)
		case '(', ')':
			return nil, errors.New("subshells are not supported")
		case '#':
			if !inWord {
				return nil, errors.New("comments are not supported")
			}
			word.WriteRune(c)
		case '\\':
			if i+1 == len(rs) {
				return nil, errors.New("syntax error: \\ at the end of the script")
			}
			i++
			if rs[i] != '\n' { // backslash-newline joins lines
				word.WriteRune(rs[i])
				inWord = true
			}
		case '\'':
			end := indexRune(rs, i+1, '\'')
			if end < 0 {
				return nil, errors.New("syntax error: unterminated '")
			}
			word.WriteString(string(rs[i+1 : end]))
			inWord = true
			i = end
		case '"':
			inWord = true
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				switch d := rs[j]; {
				case d == '$' || d == '`':
					return nil, fmt.Errorf("expansions (%c) are not supported", d)
				case d == '\\' && j+1 < len(rs) && strings.ContainsRune("\"\\$`\n", rs[j+1]):
					j++
					if rs[j] != '\n' { // backslash-newline joins lines
						word.WriteRune(rs[j])
					}
				default:
					word.WriteRune(d)
				}
			}
			if j == len(rs) {
				return nil, errors.New(`syntax error: unterminated "`)
			}
			i = j
		default:
			word.WriteRune(c)
			inWord = true
		}
	}
	endWord()
	if len(cur) > 0 {
		steps = append(steps, step{args: cur, and: joinOp == "&&"})
	} else if joinOp == "&&" {
		return nil, errors.New("syntax error: && with no command after it")
	}
	return steps, nil
}

func indexRune(rs []rune, from int, r rune) int {
	for i := from; i < len(rs); i++ {
		if rs[i] == r {
			return i
		}
	}
	return -1
}
