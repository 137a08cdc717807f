package profiles

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Where a shape's holes are in its Butane YAML (see shape for the rules).

// findHoles walks the YAML tree along the eligible fields and records each
// scalar holding sentinels. path is the keys so far ("" for a sequence
// item).
func (s *shape) findHoles(n *yaml.Node, path []string, set int, texts *[]string) bool {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if strings.Contains(k.Value, sentinelSets[set].prefix) {
				return false
			}
			if !s.findHoles(v, append(path, k.Value), set, texts) {
				return false
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if !s.findHoles(c, append(path, ""), set, texts) {
				return false
			}
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, sentinelSets[set].prefix) {
			return true
		}
		kind, ok := eligiblePath(path)
		if !ok {
			return false
		}
		switch n.Style {
		case 0, yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle, yaml.LiteralStyle:
		default:
			return false
		}
		if n.Tag != "!!str" {
			return false
		}
		node := fastNode{kind: kind, style: n.Style}
		rest := n.Value
		idx := len(s.nodes)
		for {
			j := strings.Index(rest, sentinelSets[set].prefix)
			if j < 0 {
				break
			}
			num := rest[j+len(sentinelSets[set].prefix):]
			k := 0
			for k < len(num) && num[k] >= '0' && num[k] <= '9' {
				k++
			}
			h, err := strconv.Atoi(num[:k])
			if err != nil || h >= len(s.holeNode) || s.holeNode[h] >= 0 || !strings.HasPrefix(num[k:], sentinelSets[set].suffix) {
				return false
			}
			s.holeNode[h] = idx
			node.pieces = append(node.pieces, rest[:j])
			node.holes = append(node.holes, h)
			rest = num[k+len(sentinelSets[set].suffix):]
		}
		node.pieces = append(node.pieces, rest)
		s.nodes = append(s.nodes, node)
		*texts = append(*texts, n.Value)
	default:
		return false
	}
	return true
}

// eligiblePath says whether a scalar at path may hold holes, and how its
// text reaches the output.
func eligiblePath(path []string) (nodeKind, bool) {
	match := func(want ...string) bool {
		if len(path) != len(want) {
			return false
		}
		for i, w := range want {
			if w != "*" && path[i] != w {
				return false
			}
		}
		return true
	}
	switch {
	case match("storage", "files", "", "contents", "inline"),
		match("storage", "files", "", "append", "", "inline"):
		return nodeDataURL, true
	case match("systemd", "units", "", "contents"),
		match("systemd", "units", "", "dropins", "", "contents"):
		return nodeUnit, true
	}
	return 0, false
}

// plainTree reports whether a tree has no anchor, alias or merge key.
func plainTree(n *yaml.Node) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return false
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			if n.Content[i].Value == "<<" || n.Content[i].Tag == "!!merge" {
				return false
			}
		}
	}
	for _, c := range n.Content {
		if !plainTree(c) {
			return false
		}
	}
	return true
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
