# shellcheck shell=bash
# The chart renderer of the tests (test/lib/deploy_render.py: the part of Helm's template
# language the chart uses, with Helm's semantics; anything else is refused, never rendered
# differently). No Helm binary is packaged for Debian or npm.
#   helm_render CHART_DIR [-f FILE] [--set K=V] [--set-string K=V] [--notes]
#                                      prints every template, "---" between documents
#   helm_values_refs CHART_DIR         prints each .Values path used, sorted
# Python: /usr/bin/python3 with python3-yaml and python3-jsonschema.

helm_render() {
  /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/deploy_render.py" "$@"
}

helm_values_refs() {
  cat "$1"/templates/* | grep -o '\.Values\.[A-Za-z0-9_.]*' | sed 's/\.$//' | sort -u
}
