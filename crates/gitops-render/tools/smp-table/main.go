// Command smp-table writes the strategic-merge-patch metadata of Kubernetes' built-in kinds
// (patchStrategy / patchMergeKey struct tags of k8s.io/api, the same data the API server publishes
// as x-kubernetes-patch-strategy / x-kubernetes-patch-merge-key in /openapi/v2) as JSON.
//
// Output: {"roots": {"group/Kind": "type"}, "types": {"type": {"field": [childType, strategy, key]}}}
// keeping only fields that lead to a patch strategy.
package main

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"

	"k8s.io/client-go/kubernetes/scheme"
)

type field [3]string

var types = map[string]map[string]field{}

// visit records t and reports whether any field below it has a strategy.
func visit(t reflect.Type, visiting map[string]bool) bool {
	for t.Kind() == reflect.Ptr || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	name := t.PkgPath() + "." + t.Name()
	if _, done := types[name]; done {
		return len(types[name]) > 0
	}
	if visiting[name] {
		return true
	}
	visiting[name] = true
	fields := map[string]field{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			jname := strings.Split(tag, ",")[0]
			if strings.Contains(tag, ",inline") || (f.Anonymous && jname == "") {
				ft := f.Type
				if ft.Kind() == reflect.Ptr {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
				}
				continue
			}
			if jname == "" || jname == "-" {
				continue
			}
			strategy := f.Tag.Get("patchStrategy")
			key := f.Tag.Get("patchMergeKey")
			child := f.Type
			for child.Kind() == reflect.Ptr || child.Kind() == reflect.Slice || child.Kind() == reflect.Map || child.Kind() == reflect.Array {
				child = child.Elem()
			}
			childName := ""
			if child.Kind() == reflect.Struct && visit(child, visiting) {
				childName = child.PkgPath() + "." + child.Name()
			}
			if strategy != "" || key != "" || childName != "" {
				fields[jname] = field{childName, strategy, key}
			}
		}
	}
	walk(t)
	delete(visiting, name)
	types[name] = fields
	return len(fields) > 0
}

func main() {
	roots := map[string]string{}
	known := scheme.Scheme.AllKnownTypes()
	gvks := make([]string, 0, len(known))
	for gvk := range known {
		gvks = append(gvks, gvk.String())
	}
	sort.Strings(gvks)
	// Prefer the highest version of each kind: iterate in sorted order and let
	// later (GA over beta by the comparison below) versions win.
	rank := func(v string) int {
		switch {
		case strings.Contains(v, "alpha"):
			return 0
		case strings.Contains(v, "beta"):
			return 1
		default:
			return 2
		}
	}
	best := map[string]string{}
	for gvk, t := range known {
		if gvk.Version == "__internal" || strings.HasSuffix(gvk.Kind, "List") || strings.HasSuffix(gvk.Kind, "Options") {
			continue
		}
		key := gvk.Group + "/" + gvk.Kind
		if prev, ok := best[key]; ok && (rank(prev) > rank(gvk.Version) || (rank(prev) == rank(gvk.Version) && prev > gvk.Version)) {
			continue
		}
		if visit(t, map[string]bool{}) {
			best[key] = gvk.Version
			roots[key] = t.PkgPath() + "." + t.Name()
		}
	}
	// Drop types that are not reachable from a kept root.
	reach := map[string]bool{}
	var mark func(string)
	mark = func(n string) {
		if reach[n] {
			return
		}
		reach[n] = true
		for _, f := range types[n] {
			if f[0] != "" {
				mark(f[0])
			}
		}
	}
	for _, r := range roots {
		mark(r)
	}
	short := map[string]string{}
	for n := range reach {
		s := strings.TrimPrefix(n, "k8s.io/api/")
		s = strings.TrimPrefix(s, "k8s.io/apimachinery/pkg/apis/")
		s = strings.TrimPrefix(s, "k8s.io/kube-aggregator/pkg/apis/")
		short[n] = s
	}
	outTypes := map[string]map[string]field{}
	for n := range reach {
		fs := map[string]field{}
		for k, f := range types[n] {
			if f[0] != "" {
				f[0] = short[f[0]]
			}
			fs[k] = f
		}
		outTypes[short[n]] = fs
	}
	outRoots := map[string]string{}
	for k, r := range roots {
		outRoots[k] = short[r]
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	_ = enc.Encode(map[string]interface{}{"roots": outRoots, "types": outTypes})
}
