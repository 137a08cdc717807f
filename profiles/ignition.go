package profiles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	butane "github.com/coreos/butane/config"
	"github.com/coreos/butane/config/common"
	ignition "github.com/coreos/ignition/v2/config"
	"github.com/coreos/ignition/v2/config/v3_0"
	"github.com/coreos/ignition/v2/config/v3_1"
	"github.com/coreos/ignition/v2/config/v3_2"
	"github.com/coreos/ignition/v2/config/v3_3"
	"github.com/coreos/ignition/v2/config/v3_4"
	"github.com/coreos/ignition/v2/config/v3_5"
	"github.com/coreos/ignition/v2/config/v3_6"
	"github.com/coreos/vcontext/report"
)

// ErrIgnition is returned (wrapped) when a Butane config does not translate
// or an Ignition config does not parse.
var ErrIgnition = errors.New("invalid ignition")

// Warning is a non-fatal finding from Butane or Ignition, to be logged.
type Warning string

// ButaneToIgnition translates a rendered Butane config (any variant and
// version the pinned butane knows, flatcar and fcos included) to Ignition
// JSON, which Butane has validated as Ignition; the result must also be a
// spec provisiond serves (see the note after this function). A config that does
// not translate is a *ButaneError carrying each problem with the line and
// column Butane reports in src; warnings are returned for logging, and a
// finding that is an error is never also a warning.
func ButaneToIgnition(src []byte) ([]byte, []Warning, error) {
	out, rep, err := butane.TranslateBytes(src, translateOptions)
	if err != nil && !hasVariant(src) {
		return nil, nil, &ButaneError{Problems: []ButaneProblem{{Message: err.Error() + ": this looks like a Container Linux Config (no variant and version), which matchbox before v0.10 accepted; provisiond needs Butane: add \"variant: flatcar\" and \"version: 1.0.0\" and convert it (see the Butane docs)"}}}
	}
	// An unused key is a typo ("filez:") whose content would silently not
	// reach the machine: it is refused, like unknown fields in catalog
	// JSON, and so reported as an error only.
	var problems []ButaneProblem
	var warnings []Warning
	for _, e := range rep.Entries {
		p := problemOf(e)
		if e.Kind == report.Error || strings.HasPrefix(e.Message, "unused key") {
			p.Kind = "error"
			problems = append(problems, p)
			continue
		}
		warnings = append(warnings, Warning(strings.TrimSpace(e.String())))
	}
	if err != nil && len(problems) == 0 {
		problems = append(problems, yamlProblem(err))
	}
	if len(problems) > 0 {
		return nil, warnings, &ButaneError{Problems: problems}
	}
	if len(warnings) == 0 {
		if v, ok := generatedVersion(out); ok {
			if err := versionPolicy(v); err != nil {
				return out, nil, err
			}
			if _, ok := exactParsers[v]; ok {
				return out, nil, nil
			}
		}
	}
	more, err := CheckIgnition(out)
	return out, append(warnings, more...), err
}

// What ButaneToIgnition checks after Butane, and why not all of CheckIgnition.
//
// butane v0.29.0 translates every variant that produces Ignition through
// config/util.Translate (each ToIgn3_x method is exactly that call), which
// runs on the generated types.Config, before marshalling it:
//
//	validate.ValidateCustom(final, "json", ignvalidate.ValidateDups)
//	validate.Validate(final, "json")
//
// and returns common.ErrInvalidGeneratedConfig if the merged report is
// fatal. Those entries are in the report turned into problems and warnings
// above, with their paths mapped back to the Butane source. The types are
// the ones Ignition's own vX_Y parser uses (butane imports
// ignition/v2/config/v3_x/types). CheckIgnition on that output does, for
// ignition v2.26.0:
//
//  1. json.Unmarshal of the version; the version policy: missing, experimental
//     or not 3.x is an error. Not redundant: Butane has experimental
//     variants (flatcar 1.2.0-experimental, fcos 1.8.0-experimental, ...)
//     whose output is spec 3.7.0-experimental, which provisiond refuses.
//     Kept, on the version read from the output (generatedVersion).
//  2. v3_x.Parse: an empty config is ErrEmpty (Butane never outputs one);
//     json.Unmarshal into types.Config (Butane's output is its own
//     json.Marshal of that type, so it parses); the version must equal the
//     parser's MaxVersion (Butane writes MaxVersion of the spec it targets);
//     then validate.ValidateWithContext: validate.Validate and ValidateDups
//     — the same two checks Butane ran, on the same value after a
//     marshal/unmarshal round trip (clarketm/json omits only empty
//     strings, zero numbers, false, nil pointers and empty slices and
//     structs, which decode back to the same zero values) — plus unused
//     keys, which cannot occur in JSON marshalled from the type itself.
//
// So after Butane, only step 1 can find something new. Its report is not
// empty when Ignition warns, though: Butane reports each Ignition
// warning at its Butane line (a file mode with setuid bits in spec < 3.6,
// an enabled unit without [Install], an insecure proxy) and CheckIgnition
// reports it again at its line in the generated JSON; users have seen both
// copies so far. To keep every message exactly as it was, a translation
// with any warning still goes through CheckIgnition (rare: a config that
// warns is one someone is asked to fix), and so does output whose version
// is not read the cheap way (openshift MachineConfig YAML, which is not
// Ignition and fails CheckIgnition as before) or is a spec without an
// exact parser. FuzzButaneAgreesWithCheck checks this path against the
// full check. The full check was 12-16 % of server CPU in a boot storm.

// generatedVersion reads ignition.version from Butane's output without
// parsing the rest: Butane marshals types.Config, whose first field is
// Ignition, so the object starts with "ignition". ok is false for anything
// else; the caller then checks the output in full.
func generatedVersion(out []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(out))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	if t, err := dec.Token(); err != nil || t != "ignition" {
		return "", false
	}
	var ign struct {
		Version string `json:"version"`
	}
	if err := dec.Decode(&ign); err != nil || ign.Version == "" {
		return "", false
	}
	return ign.Version, true
}

// versionPolicy refuses the Ignition spec versions provisiond does not
// serve.
func versionPolicy(v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: ignition.version is missing", ErrIgnition)
	case strings.Contains(v, "experimental"):
		return fmt.Errorf("%w: spec version %s is experimental; provisiond serves stable specs only", ErrIgnition, v)
	case !strings.HasPrefix(v, "3."):
		return fmt.Errorf("%w: spec version %s is not supported: provisiond serves Ignition spec 3.x", ErrIgnition, v)
	}
	return nil
}

// CheckIgnition parses raw Ignition JSON with the Ignition library, which
// accepts every stable 3.x spec it knows. Experimental specs and anything
// the library rejects are errors; an empty or version-less config is never
// accepted (matchbox answers those with 200 and an empty config).
func CheckIgnition(raw []byte) ([]Warning, error) {
	var head struct {
		Ignition struct {
			Version string `json:"version"`
		} `json:"ignition"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIgnition, err)
	}
	v := head.Ignition.Version
	if err := versionPolicy(v); err != nil {
		return nil, err
	}
	var rep report.Report
	var err error
	if parse, ok := exactParsers[v]; ok {
		rep, err = parse(raw)
	} else {
		_, rep, err = ignition.Parse(raw)
	}
	warnings := reportWarnings(rep)
	if err != nil {
		if rep.IsFatal() {
			var b strings.Builder
			for _, e := range rep.Entries {
				if e.Kind == report.Error {
					b.WriteString("; " + strings.TrimSpace(e.String()))
				}
			}
			return warnings, fmt.Errorf("%w: spec %s: %v%s", ErrIgnition, v, err, b.String())
		}
		return warnings, fmt.Errorf("%w: spec %s: %v", ErrIgnition, v, err)
	}
	return warnings, nil
}

// exactParsers parse and validate one stable spec version as it is.
// ignition.Parse does the same and then translates the config up through
// every later version to the newest one, which costs as much again and
// checks nothing more: on a boot storm of Butane configs it was a third
// of the translation time.
var exactParsers = map[string]func([]byte) (report.Report, error){
	"3.0.0": func(b []byte) (report.Report, error) { _, r, err := v3_0.Parse(b); return r, err },
	"3.1.0": func(b []byte) (report.Report, error) { _, r, err := v3_1.Parse(b); return r, err },
	"3.2.0": func(b []byte) (report.Report, error) { _, r, err := v3_2.Parse(b); return r, err },
	"3.3.0": func(b []byte) (report.Report, error) { _, r, err := v3_3.Parse(b); return r, err },
	"3.4.0": func(b []byte) (report.Report, error) { _, r, err := v3_4.Parse(b); return r, err },
	"3.5.0": func(b []byte) (report.Report, error) { _, r, err := v3_5.Parse(b); return r, err },
	"3.6.0": func(b []byte) (report.Report, error) { _, r, err := v3_6.Parse(b); return r, err },
}

func reportWarnings(r report.Report) []Warning {
	var ws []Warning
	for _, e := range r.Entries {
		if e.Kind == report.Error {
			continue
		}
		ws = append(ws, Warning(strings.TrimSpace(e.String())))
	}
	return ws
}

// hasVariant reports whether a Butane document names its variant at the top
// level.
func hasVariant(src []byte) bool {
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "variant:") {
			return true
		}
	}
	return false
}

// translateOptions: inline file contents are not compressed. Butane would
// gzip every inline file worth it, creating a flate writer (most of the
// 2 MB a cold render allocated) for files that are mostly a few hundred
// bytes; uncompressed data URLs also keep served configs readable.
var translateOptions = common.TranslateBytesOptions{
	TranslateOptions: common.TranslateOptions{NoResourceAutoCompression: true},
}
