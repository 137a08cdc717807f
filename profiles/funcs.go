package profiles

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"text/template"
)

// Member is one machine as the members template function returns it.
type Member map[string]any

// MembersFunc returns the machines matching a selector ("role=services" or
// "role=services,cabinet=one"), each with keys name, mac, ip and labels,
// sorted by address.
type MembersFunc func(selector string) ([]Member, error)

// Funcs returns the template functions every provisiond template can call:
//
//	members "role=services"   machines matching a selector, sorted by address
//	join LIST SEP             join a list of values with SEP
//	default DEF VALUE         VALUE unless it is empty, then DEF
//	quote S                   S as a double-quoted string with Go escapes
func Funcs(members MembersFunc) template.FuncMap {
	if members == nil {
		members = func(string) ([]Member, error) { return nil, fmt.Errorf("members: no machine registry") }
	}
	return template.FuncMap{
		"members": members,
		"join":    join,
		"default": dflt,
		"quote":   strconv.Quote,
	}
}

// join joins the elements of a list (any slice) with sep, formatting each
// with fmt's %v.
func join(list any, sep string) (string, error) {
	if list == nil {
		return "", nil
	}
	if ss, ok := list.([]string); ok {
		return strings.Join(ss, sep), nil
	}
	v := reflect.ValueOf(list)
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return "", fmt.Errorf("join: want a list, got %T", list)
	}
	parts := make([]string, v.Len())
	for i := range parts {
		parts[i] = fmt.Sprint(v.Index(i).Interface())
	}
	return strings.Join(parts, sep), nil
}

// dflt returns value unless it is nil or the zero value of its type.
func dflt(def, value any) any {
	if value == nil {
		return def
	}
	v := reflect.ValueOf(value)
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.String, reflect.Array:
		if v.Len() == 0 {
			return def
		}
	default:
		if v.IsZero() {
			return def
		}
	}
	return value
}
