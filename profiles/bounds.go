package profiles

import (
	"fmt"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
)

// MaxRangeIterations bounds the iterations that ranges over integer
// literals ({{ range 1000 }}, nested or not) ask for in one template: such
// a loop writes nothing and cannot be stopped, so it is refused when the
// template is written rather than timed out at every boot.
const MaxRangeIterations = 1_000_000

// checkRanges refuses nested ranges over integer literals whose product
// exceeds MaxRangeIterations.
func checkRanges(tree *parse.Tree) error {
	if tree == nil || tree.Root == nil {
		return nil
	}
	return walkRanges(tree.Root, 1)
}

func walkRanges(n parse.Node, mult int64) error {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return nil
		}
		for _, c := range x.Nodes {
			if err := walkRanges(c, mult); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return walkBranch(&x.BranchNode, mult)
	case *parse.WithNode:
		return walkBranch(&x.BranchNode, mult)
	case *parse.RangeNode:
		inner := mult
		if k, ok := intLiteral(x.Pipe); ok && k > 0 {
			if k > MaxRangeIterations {
				return fmt.Errorf("line %d: range over %d: at most %d iterations", lineOf(x), k, MaxRangeIterations)
			}
			if inner*k > MaxRangeIterations {
				return fmt.Errorf("line %d: range over %d inside ranges of %d: %d iterations, at most %d", lineOf(x), k, inner, inner*k, MaxRangeIterations)
			}
			inner *= k
		}
		if err := walkRanges(x.List, inner); err != nil {
			return err
		}
		if x.ElseList != nil {
			return walkRanges(x.ElseList, mult)
		}
	}
	return nil
}

func walkBranch(b *parse.BranchNode, mult int64) error {
	if err := walkRanges(b.List, mult); err != nil {
		return err
	}
	if b.ElseList != nil {
		return walkRanges(b.ElseList, mult)
	}
	return nil
}

func intLiteral(p *parse.PipeNode) (int64, bool) {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return 0, false
	}
	num, ok := p.Cmds[0].Args[0].(*parse.NumberNode)
	if !ok || !num.IsInt {
		return 0, false
	}
	return num.Int64, true
}

func lineOf(n *parse.RangeNode) int {
	if n.Pipe != nil {
		return n.Pipe.Line
	}
	return n.Line
}

// checkRecursion refuses templates that call themselves, directly or
// through others ({{ define "a" }}{{ template "a" }}{{ end }}): text/template
// only stops them at a depth of 100,000 calls, and a provisioning config
// has no need for recursion.
func checkRecursion(t *template.Template) error {
	calls := map[string][]string{}
	for _, d := range t.Templates() {
		if d.Tree != nil {
			calls[d.Name()] = templateCalls(d.Tree.Root, nil)
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case visiting:
			return fmt.Errorf("template %q calls itself (%s): recursion is not allowed", name, strings.Join(append(path, name), " -> "))
		case done:
			return nil
		}
		state[name] = visiting
		for _, c := range calls[name] {
			if err := visit(c, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		return nil
	}
	for _, name := range sortedNames(calls) {
		if err := visit(name, nil); err != nil {
			return err
		}
	}
	return nil
}

func templateCalls(n parse.Node, out []string) []string {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return out
		}
		for _, c := range x.Nodes {
			out = templateCalls(c, out)
		}
	case *parse.TemplateNode:
		out = append(out, x.Name)
	case *parse.IfNode:
		out = templateCalls(x.List, out)
		out = templateCalls(x.ElseList, out)
	case *parse.WithNode:
		out = templateCalls(x.List, out)
		out = templateCalls(x.ElseList, out)
	case *parse.RangeNode:
		out = templateCalls(x.List, out)
		out = templateCalls(x.ElseList, out)
	}
	return out
}

func sortedNames(m map[string][]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// mayLoop reports whether a template has a range or calls another
// template: without either, its render time is bounded by its size and
// its data, and ExecuteTimeout runs it inline, without a goroutine.
func mayLoop(t *template.Template) bool {
	for _, d := range t.Templates() {
		if d.Tree != nil && loops(d.Tree.Root) {
			return true
		}
	}
	return false
}

func loops(n parse.Node) bool {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return false
		}
		for _, c := range x.Nodes {
			if loops(c) {
				return true
			}
		}
	case *parse.RangeNode, *parse.TemplateNode:
		return true
	case *parse.IfNode:
		return loops(x.List) || loops(x.ElseList)
	case *parse.WithNode:
		return loops(x.List) || loops(x.ElseList)
	}
	return false
}
