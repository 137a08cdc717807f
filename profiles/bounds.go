package profiles

import (
	"fmt"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
)

// MaxRangeIterations bounds the iterations that ranges over integer
// constants ({{ range 1000 }}, {{ $n := 1000 }}{{ range $n }}, nested or
// not) ask for in one template: such a loop is refused when the template
// is written rather than timed out at every boot.
const MaxRangeIterations = 1_000_000

// checkRanges refuses nested ranges over integer constants whose product
// exceeds MaxRangeIterations, with an error naming the template's file
// (tree.ParseName) and line, as text/template's own parse errors do. A
// constant is an integer literal, or a variable that is ever given one:
// its bound is the largest literal it is given anywhere in its scope, in
// whatever order (a loop can give it a later value before it ranges
// again), or that a range over a constant gives it. A range over data
// ({{ range .n }}) is bounded by the data, and stopped by the render time
// limit: each iteration writes (guardRanges).
func checkRanges(tree *parse.Tree) error {
	if tree == nil || tree.Root == nil {
		return nil
	}
	rc := &rangeCheck{bound: map[*parse.PipeNode]int64{}}
	// First the bound of every variable, to a fixed point (a variable
	// given another's value learns it on a later pass; values only grow,
	// and only to literals of the text, so this ends), then the check.
	for {
		rc.changed = false
		if err := rc.walk(tree.Root, nil, 1); err != nil {
			return err
		}
		if !rc.changed {
			break
		}
	}
	rc.check = true
	if err := rc.walk(tree.Root, nil, 1); err != nil {
		in := ""
		if tree.Name != tree.ParseName {
			in = fmt.Sprintf(" (in {{define %q}})", tree.Name)
		}
		return fmt.Errorf("template: %s:%v%s", tree.ParseName, err, in)
	}
	return nil
}

// rangeCheck is one walk of checkRanges over a tree.
type rangeCheck struct {
	// bound is the largest integer constant each variable, known by the
	// pipe that declares it, is ever given.
	bound   map[*parse.PipeNode]int64
	changed bool
	check   bool // the last walk: bounds are known, refuse
}

// binding is a variable in scope: its name and the pipe that declared it.
type binding struct {
	name string
	decl *parse.PipeNode
}

// walk walks n with vars in scope, inside ranges of mult iterations in
// all. A declaration in a list is in scope until the list ends.
func (rc *rangeCheck) walk(n parse.Node, vars []binding, mult int64) error {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return nil
		}
		for _, c := range x.Nodes {
			if a, ok := c.(*parse.ActionNode); ok {
				v, ok := rc.constant(a.Pipe, vars)
				vars = rc.assign(a.Pipe, vars, v, ok)
				continue
			}
			if err := rc.walk(c, vars, mult); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return rc.branch(&x.BranchNode, vars, mult)
	case *parse.WithNode:
		return rc.branch(&x.BranchNode, vars, mult)
	case *parse.RangeNode:
		inner := mult
		k, ok := rc.constant(x.Pipe, vars)
		if ok && k > 0 {
			if rc.check {
				what := fmt.Sprint(k)
				if _, lit := intLiteral(x.Pipe); !lit {
					what = fmt.Sprintf("%s (up to %d)", pipeText(x.Pipe), k)
				}
				if k > MaxRangeIterations {
					return fmt.Errorf("%d: range over %s: at most %d iterations", lineOf(x), what, MaxRangeIterations)
				}
				if inner*k > MaxRangeIterations {
					return fmt.Errorf("%d: range over %s inside ranges of %d: %d iterations, at most %d", lineOf(x), what, inner, inner*k, MaxRangeIterations)
				}
			}
			// Capped, so that deep nests of large ranges cannot overflow
			// before the check refuses them.
			inner = min(inner*min(k, MaxRangeIterations+1), MaxRangeIterations+1)
		}
		// The range's variables take values below k (its element, or
		// with two its index first): bounded by k when k is known.
		body := rc.assign(x.Pipe, vars, k, ok)
		if err := rc.walk(x.List, body, inner); err != nil {
			return err
		}
		if x.ElseList != nil {
			return rc.walk(x.ElseList, vars, mult)
		}
	}
	return nil
}

func (rc *rangeCheck) branch(b *parse.BranchNode, vars []binding, mult int64) error {
	// A variable declared in the condition ({{ with $x := 5 }}) is in
	// scope in both lists.
	v, ok := rc.constant(b.Pipe, vars)
	vars = rc.assign(b.Pipe, vars, v, ok)
	if err := rc.walk(b.List, vars, mult); err != nil {
		return err
	}
	if b.ElseList != nil {
		return rc.walk(b.ElseList, vars, mult)
	}
	return nil
}

// assign records what pipe declares ({{ $x := ... }}) or assigns
// ({{ $x = ... }}), whose value is at most v when ok, and returns the
// variables in scope after it.
func (rc *rangeCheck) assign(p *parse.PipeNode, vars []binding, v int64, ok bool) []binding {
	if p == nil || len(p.Decl) == 0 {
		return vars
	}
	if p.IsAssign {
		// The innermost variable of each name, declared earlier (the
		// parser refuses an undeclared one).
		for _, d := range p.Decl {
			if b, found := lookup(vars, d.Ident[0]); found && ok {
				rc.raise(b.decl, v)
			}
		}
		return vars
	}
	out := append([]binding(nil), vars...)
	for _, d := range p.Decl {
		out = append(out, binding{name: d.Ident[0], decl: p})
	}
	if ok {
		rc.raise(p, v)
	}
	return out
}

func (rc *rangeCheck) raise(decl *parse.PipeNode, v int64) {
	if old, seen := rc.bound[decl]; !seen || v > old {
		rc.bound[decl] = v
		rc.changed = true
	}
}

// constant returns the integer constant a pipe evaluates to, as far as can
// be known when the template is written: a literal, a variable given only
// constants (the largest), or either in parentheses.
func (rc *rangeCheck) constant(p *parse.PipeNode, vars []binding) (int64, bool) {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return 0, false
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.NumberNode:
		return a.Int64, a.IsInt
	case *parse.VariableNode:
		if len(a.Ident) != 1 {
			return 0, false // $x.field: data
		}
		b, found := lookup(vars, a.Ident[0])
		if !found {
			return 0, false
		}
		v, ok := rc.bound[b.decl]
		return v, ok
	case *parse.PipeNode:
		return rc.constant(a, vars)
	}
	return 0, false
}

func lookup(vars []binding, name string) (binding, bool) {
	for i := len(vars) - 1; i >= 0; i-- {
		if vars[i].name == name {
			return vars[i], true
		}
	}
	return binding{}, false
}

func pipeText(p *parse.PipeNode) string {
	if p == nil || len(p.Cmds) == 0 {
		return ""
	}
	return p.Cmds[0].String()
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

// guardRanges makes every iteration of every range of t write: it puts an
// empty text node first in each range's body. text/template writes a text
// node even when it is empty, and the writer of a render that was given up
// fails every write (ExecuteTimeout), so a loop that writes nothing ({{
// range .n }}{{ end }} over a large number in the data) stops at its next
// iteration after the time limit instead of running on. An empty write
// costs a call per iteration and changes no output.
func guardRanges(t *template.Template) {
	for _, d := range t.Templates() {
		if d.Tree != nil {
			guardList(d.Tree.Root)
		}
	}
}

func guardList(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch x := n.(type) {
		case *parse.RangeNode:
			if x.List == nil {
				x.List = &parse.ListNode{NodeType: parse.NodeList, Pos: x.Pos}
			}
			guardList(x.List)
			guardList(x.ElseList)
			tick := &parse.TextNode{NodeType: parse.NodeText, Pos: x.List.Pos, Text: []byte{}}
			x.List.Nodes = append([]parse.Node{tick}, x.List.Nodes...)
		case *parse.IfNode:
			guardList(x.List)
			guardList(x.ElseList)
		case *parse.WithNode:
			guardList(x.List)
			guardList(x.ElseList)
		}
	}
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
