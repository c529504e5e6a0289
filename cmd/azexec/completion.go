package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/profile"
	"github.com/azexec/azexec/internal/resolve"
)

// This file is `azexec completion bash|zsh|fish`. The scripts are generated
// from the command definitions, so a new command or option completes
// without anyone editing a script. They are static: completing never runs
// azexec, which would read env files and AZEXEC_* variables on every Tab,
// and after -- the words are COMMAND's, completed as the shell completes
// that command.

// completionShells are the shells `azexec completion` writes for.
var completionShells = []string{"bash", "zsh", "fish"}

func completionCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "Completes commands, options and the values of options such as --identity and --cloud.\n\n" +
			"SET UP:\n" +
			"   bash  echo 'source <(azexec completion bash)' >> ~/.bashrc\n" +
			"   zsh   echo 'source <(azexec completion zsh)' >> ~/.zshrc\n" +
			"   fish  azexec completion fish > ~/.config/fish/completions/azexec.fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 || !slices.Contains(completionShells, c.Args().First()) {
				return fail.New(fail.Usage, "azexec completion needs one shell: %s", strings.Join(completionShells, ", ")).
					WithHint("azexec completion bash (see azexec completion --help for the set-up)")
			}
			// The script describes the app as a user runs it, not this one,
			// which has already been set up for this command line.
			app := newApp(io, nil, false)
			var script string
			switch c.Args().First() {
			case "bash":
				script = bashCompletion(app)
			case "zsh":
				script = zshCompletion(app)
			case "fish":
				s, err := app.ToFishCompletion()
				if err != nil {
					return err
				}
				script = s
			}
			_, err := io.out.Write([]byte(script))
			return err
		},
	}
}

// flagValues are the values offered after an option, by option name, or
// by "COMMAND PATH|--option" where a command's option differs.
func flagValues() map[string]string {
	return map[string]string{
		"--identity":        "auto " + strings.Join(resolve.SourceNames, " "),
		"--cloud":           strings.Join(resolve.CloudNames, " "),
		"--inject":          strings.Join(injectModes, " "),
		"--log-level":       "trace debug info warn error off",
		"--log-format":      "text json",
		"--keyring-backend": strings.Join(profile.BackendNames, " "),
		"--default-inject":  strings.Join(injectModes, " "),
		" env|--format":     strings.Join(envFormats, " "),
		" token|--format":   formatToken + " " + formatJSON + " " + formatExecCredential,
	}
}

// fileFlags take a path.
var fileFlags = []string{"--env-file", "--auth-file", "--certificate", "--default-env-file"}

// completionTree is what a script needs: the words to offer at each
// command path ("" is azexec itself, " profile add" a subcommand), and the
// options that take a value (whose next word is not a command).
type completionTree struct {
	words  map[string][]string
	valued map[string]bool
}

func newCompletionTree(app *cli.App) completionTree {
	t := completionTree{words: map[string][]string{}, valued: map[string]bool{}}
	root := t.addFlags(nil, app.Flags)
	root = append(root, "--help")
	t.words[""] = append(t.addCommands("", app.Commands), root...)
	return t
}

func (t completionTree) addCommands(path string, cmds []*cli.Command) []string {
	var names []string
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		names = append(names, c.Name)
		p := path + " " + c.Name
		words := t.addCommands(p, c.Subcommands)
		words = append(words, t.addFlags(nil, c.Flags)...)
		t.words[p] = append(words, "--help")
	}
	return names
}

// addFlags returns the visible options of fs and records those with values.
func (t completionTree) addFlags(out []string, fs []cli.Flag) []string {
	for _, f := range fs {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		for _, n := range f.Names() {
			if len(n) > 1 {
				out = append(out, "--"+n)
				if d, ok := f.(cli.DocGenerationFlag); ok && d.TakesValue() {
					t.valued["--"+n] = true
				}
			}
		}
	}
	return out
}

// bashCompletion is a bash completion function built from app.
func bashCompletion(app *cli.App) string {
	t := newCompletionTree(app)
	var b strings.Builder
	b.WriteString(`# bash completion for azexec, written by: azexec completion bash
# Use it with: source <(azexec completion bash)

_azexec_words() {
    case "$1" in
`)
	for _, p := range slices.Sorted(maps.Keys(t.words)) {
		fmt.Fprintf(&b, "    %s) echo %s ;;\n", shellWord(p), shellWord(strings.Join(t.words[p], " ")))
	}
	b.WriteString(`    esac
}

_azexec_is_command() {
    case "$1" in
`)
	var paths []string
	for p := range t.words {
		if p != "" {
			paths = append(paths, shellWord(p))
		}
	}
	slices.Sort(paths)
	fmt.Fprintf(&b, "    %s) return 0 ;;\n", strings.Join(paths, "|"))
	b.WriteString(`    esac
    return 1
}

_azexec_takes_value() {
    case "$1" in
`)
	fmt.Fprintf(&b, "    %s) return 0 ;;\n", strings.Join(slices.Sorted(maps.Keys(t.valued)), "|"))
	b.WriteString(`    esac
    return 1
}

_azexec_values() {
    case "$1" in
`)
	values := flagValues()
	for _, k := range slices.Sorted(maps.Keys(values)) {
		fmt.Fprintf(&b, "    %s) echo %s ;;\n", shellWord(k), shellWord(values[k]))
	}
	b.WriteString(`    esac
}

_azexec() {
    local cur="${COMP_WORDS[COMP_CWORD]}" valueof="" path="" w i
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        if [ "$w" = "--" ]; then
            # From here on the words are COMMAND's.
            if declare -F _command_offset >/dev/null 2>&1; then
                _command_offset $((i + 1))
            else
                COMPREPLY=($(compgen -c -- "$cur"))
            fi
            return 0
        fi
        case "$w" in
        -*=*) ;;
        -*)
            if _azexec_takes_value "$w"; then
                if [ $((i + 1)) -eq "$COMP_CWORD" ]; then valueof="$w"; fi
                i=$((i + 1))
            fi ;;
        *) if _azexec_is_command "$path $w"; then path="$path $w"; fi ;;
        esac
    done
    if [ -n "$valueof" ]; then
        case "$valueof" in
`)
	fmt.Fprintf(&b, "        %s)\n", strings.Join(fileFlags, "|"))
	b.WriteString(`            COMPREPLY=($(compgen -f -- "$cur")) ;;
        *)
            local v
            v="$(_azexec_values "$path|$valueof")"
            if [ -z "$v" ]; then v="$(_azexec_values "$valueof")"; fi
            COMPREPLY=($(compgen -W "$v" -- "$cur")) ;;
        esac
        return 0
    fi
    COMPREPLY=($(compgen -W "$(_azexec_words "$path")" -- "$cur"))
}

complete -F _azexec azexec
`)
	return b.String()
}

// zshCompletion is the bash function run through zsh's bashcompinit,
// which understands complete and compgen.
func zshCompletion(app *cli.App) string {
	return "# zsh completion for azexec, written by: azexec completion zsh\n" +
		"# Use it with: source <(azexec completion zsh)\n" +
		"if ! whence compdef >/dev/null; then autoload -U +X compinit && compinit; fi\n" +
		"autoload -U +X bashcompinit && bashcompinit\n\n" +
		strings.SplitN(bashCompletion(app), "\n\n", 2)[1]
}
