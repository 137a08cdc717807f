package cli

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// positional are the words a verb's arguments complete to; a verb not
// named here completes file names.
var positional = map[string][]string{
	"get":        kindNames,
	"delete":     {"profile", "group", "pool", "machine", "template", "lease"},
	"describe":   {"machine"},
	"render":     {"ipxe", "grub", "ignition", "cloud", "generic", "metadata"},
	"completion": {"bash", "zsh"},
}

var helpFlag = regexp.MustCompile(`(?m)^  (--?[a-zA-Z0-9][a-zA-Z0-9-]*)`)

// verbFlags returns the flags a verb's --help lists.
func verbFlags(v Verb) []string {
	if v.Run == nil {
		return nil
	}
	var help bytes.Buffer // a verb may print its help on either
	v.Run([]string{"--help"}, &help, &help)
	var out []string
	for _, m := range helpFlag.FindAllStringSubmatch(help.String(), -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (p *Program) completion(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return Usagef("want bash or zsh (provisiond completion bash > /etc/bash_completion.d/provisiond)")
	}
	switch args[0] {
	case "bash":
		_, err := io.WriteString(stdout, p.bashCompletion())
		return err
	case "zsh":
		_, err := io.WriteString(stdout, "#compdef provisiond\n# zsh completion for provisiond, through zsh's bash completion support:\n#   provisiond completion zsh > \"${fpath[1]}/_provisiond\"\nautoload -U +X bashcompinit && bashcompinit\n"+p.bashCompletion())
		return err
	}
	return Usagef("unknown shell %q: want bash or zsh", args[0])
}

func (p *Program) bashCompletion() string {
	var verbs []string
	for _, v := range p.all() {
		verbs = append(verbs, v.Name)
	}
	var globals []string
	for _, g := range globalFlags {
		globals = append(globals, "--"+g)
	}
	var cases strings.Builder
	for _, v := range p.all() {
		words := positional[v.Name]
		files := "0"
		if words == nil && v.Name != "help" && v.Name != "version" {
			files = "1"
		}
		fmt.Fprintf(&cases, "    %s) flags=%q; words=%q; files=%s ;;\n", v.Name,
			strings.Join(verbFlags(v), " "), strings.Join(words, " "), files)
	}
	return fmt.Sprintf(`# bash completion for provisiond (provisiond completion bash)
_provisiond() {
  local cur verb i flags words files
  cur="${COMP_WORDS[COMP_CWORD]}"
  verb=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      %s) ((i++)) ;;
      -*) ;;
      *) verb="${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$verb" in
    "") COMPREPLY=($(compgen -W "%s %s --help" -- "$cur")); return ;;
%s    *) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    if [[ $files == 1 ]]; then COMPREPLY+=($(compgen -f -- "$cur")); fi
  fi
}
complete -o filenames -F _provisiond provisiond
`, strings.Join(globals, "|"), strings.Join(verbs, " "), strings.Join(globals, " "), cases.String())
}
