package profiles

import "text/template/parse"

// DotIsRoot reports whether the field expression at pos (a place that
// text/template gave in an execution error) is evaluated with dot the
// template data's root: outside every range and with, in the template
// itself rather than in a {{ define }}d one. found is false when no field
// expression is at pos.
func (t *Template) DotIsRoot(pos Position) (root, found bool) {
	tree := t.t.Tree
	if tree == nil {
		return false, false
	}
	at := func(n parse.Node) bool { return positionAt(t.text, int(n.Position())) == pos }
	return scopeOf(tree.Root, true, at)
}

// scopeOf finds the node at in l, and whether dot is the root there (root
// says whether it is at l).
func scopeOf(l *parse.ListNode, root bool, at func(parse.Node) bool) (bool, bool) {
	if l == nil {
		return false, false
	}
	for _, n := range l.Nodes {
		var pipe *parse.PipeNode
		var list, elseList *parse.ListNode
		rebinds := false
		switch x := n.(type) {
		case *parse.ActionNode:
			pipe = x.Pipe
		case *parse.TemplateNode:
			pipe = x.Pipe
		case *parse.IfNode:
			pipe, list, elseList = x.Pipe, x.List, x.ElseList
		case *parse.RangeNode:
			pipe, list, elseList, rebinds = x.Pipe, x.List, x.ElseList, true
		case *parse.WithNode:
			pipe, list, elseList, rebinds = x.Pipe, x.List, x.ElseList, true
		}
		if pipeHas(pipe, at) {
			return root, true
		}
		if r, ok := scopeOf(list, root && !rebinds, at); ok {
			return r, true
		}
		if r, ok := scopeOf(elseList, root, at); ok {
			return r, true
		}
	}
	return false, false
}

func pipeHas(p *parse.PipeNode, at func(parse.Node) bool) bool {
	if p == nil {
		return false
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			if argHas(a, at) {
				return true
			}
		}
	}
	return false
}

func argHas(n parse.Node, at func(parse.Node) bool) bool {
	switch x := n.(type) {
	case *parse.FieldNode, *parse.VariableNode:
		return at(n)
	case *parse.ChainNode:
		return at(n) || argHas(x.Node, at)
	case *parse.PipeNode:
		return pipeHas(x, at)
	}
	return false
}
