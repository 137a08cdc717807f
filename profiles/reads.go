package profiles

import (
	"slices"
	"text/template/parse"
)

// Reads returns the top-level keys of the data that the template can
// read: what it names as .key or $.key (and deeper) where dot is the
// data's root. all is true when it can read more than those, through a
// path this does not follow: the data whole (a bare dot at the root, a
// bare $, as an argument or to range over) or a {{ template }} call. A
// render of the template depends on the entries of keys alone (their
// presence and values) unless all: the catalog's trial renders check
// one group per shape of those entries rather than of the whole data
// (catalog.trialRenders).
func (t *Template) Reads() (keys []string, all bool) {
	if t == nil || !t.readsKnown {
		return nil, true
	}
	return t.reads, false
}

// readKeys finds Reads' keys in tree.
func readKeys(tree *parse.Tree) (keys []string, all bool) {
	if tree == nil {
		return nil, true
	}
	r := keyReader{seen: map[string]bool{}}
	r.list(tree.Root, true)
	if r.all {
		return nil, true
	}
	keys = make([]string, 0, len(r.seen))
	for k := range r.seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, false
}

type keyReader struct {
	seen map[string]bool
	all  bool
}

// list walks l; root says whether dot is the data's root there.
func (r *keyReader) list(l *parse.ListNode, root bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch x := n.(type) {
		case *parse.ActionNode:
			r.pipe(x.Pipe, root)
		case *parse.IfNode:
			r.branch(&x.BranchNode, root, root)
		case *parse.RangeNode:
			// In the body dot is an element; in else, what it was.
			r.branch(&x.BranchNode, root, false)
		case *parse.WithNode:
			r.branch(&x.BranchNode, root, false)
		case *parse.TemplateNode:
			// Another template's reads are not followed.
			r.all = true
		case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
		default:
			r.all = true // a node this does not know
		}
	}
}

// branch walks an if, range or with: its pipeline and else branch where
// dot is what it was (root), its body where dot is body.
func (r *keyReader) branch(b *parse.BranchNode, root, body bool) {
	r.pipe(b.Pipe, root)
	r.list(b.List, body)
	r.list(b.ElseList, root)
}

func (r *keyReader) pipe(p *parse.PipeNode, root bool) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		if k, ok := indexedKey(c, root); ok {
			// index . "key" ...: the idiom for a key a group may lack
			// (.key fails without it, missingkey=error). The arguments
			// after the key index into its value.
			r.seen[k] = true
			for _, a := range c.Args[3:] {
				r.arg(a, root)
			}
			continue
		}
		for _, a := range c.Args {
			r.arg(a, root)
		}
	}
}

// indexedKey returns "key" of a command index . "key" ... (or index $
// "key" ...) where dot is the root.
func indexedKey(c *parse.CommandNode, root bool) (string, bool) {
	if len(c.Args) < 3 {
		return "", false
	}
	if id, ok := c.Args[0].(*parse.IdentifierNode); !ok || id.Ident != "index" {
		return "", false
	}
	switch x := c.Args[1].(type) {
	case *parse.DotNode:
		if !root {
			return "", false
		}
	case *parse.VariableNode:
		if len(x.Ident) != 1 || x.Ident[0] != "$" {
			return "", false
		}
	default:
		return "", false
	}
	k, ok := c.Args[2].(*parse.StringNode)
	if !ok {
		return "", false
	}
	return k.Text, true
}

func (r *keyReader) arg(n parse.Node, root bool) {
	switch x := n.(type) {
	case *parse.FieldNode:
		if root {
			r.seen[x.Ident[0]] = true
		}
	case *parse.DotNode:
		if root {
			r.all = true
		}
	case *parse.VariableNode:
		// $ is the root wherever it is; other variables hold what their
		// declaration's pipeline gave, read (and counted) there.
		if x.Ident[0] == "$" {
			if len(x.Ident) == 1 {
				r.all = true
			} else {
				r.seen[x.Ident[1]] = true
			}
		}
	case *parse.ChainNode:
		// (pipeline).field: the pipeline's reads, and when it is dot
		// itself, the field's key.
		if _, ok := x.Node.(*parse.DotNode); ok && root && len(x.Field) > 0 {
			r.seen[x.Field[0]] = true
			return
		}
		r.arg(x.Node, root)
	case *parse.PipeNode:
		r.pipe(x, root)
	case *parse.IdentifierNode, *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
	default:
		r.all = true
	}
}
