# shellcheck shell=bash
# A small renderer for the subset of Helm's template language the chart in deploy/helm
# uses, so the chart can be checked without helm:
#   {{ .Values.a.b }}  {{ .Values.x | quote }}  {{- toYaml .Values.x | nindent N }}
#   {{- if .Values.x }} … {{- else }} … {{- end }}  {{ if eq .Values.x "y" }}
# with Go template whitespace trimming ({{- trims the white space before, -}} after).
# Anything else is an error, and so is a .Values path that values.yaml does not have
# (Go would print "<no value>").
#
#   helm_render CHART_DIR [KEY.PATH=YAML_VALUE...]   prints every template, "---" between
#   helm_values_refs CHART_DIR                       prints each .Values path used, sorted
# Python: /usr/bin/python3 with python3-yaml (the pyenv one first on PATH has no yaml).

_deploy_py=/usr/bin/python3

helm_render() {
  "$_deploy_py" - "$@" <<'PY'
import os, re, sys, yaml

chart, sets = sys.argv[1], sys.argv[2:]
with open(os.path.join(chart, "values.yaml")) as f:
    values = yaml.safe_load(f) or {}
for s in sets:
    key, _, raw = s.partition("=")
    node = values
    parts = key.split(".")
    for p in parts[:-1]:
        node = node[p]
    if parts[-1] not in node:
        sys.exit(f"render: --set {key}: no such value in values.yaml")
    node[parts[-1]] = yaml.safe_load(raw)

TOKEN = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)

class RenderError(Exception):
    pass

def lookup(path):
    if not path.startswith(".Values."):
        raise RenderError(f"unsupported reference {path!r}")
    node = values
    for p in path[len(".Values."):].split("."):
        if not isinstance(node, dict) or p not in node:
            raise RenderError(f"{path}: not in values.yaml")
        node = node[p]
    return node

def text_of(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        raise RenderError("nil value printed")
    if isinstance(v, (dict, list)):
        raise RenderError("map or list printed without toYaml")
    return str(v)

def argument(a):
    if a.startswith('"') and a.endswith('"'):
        return a[1:-1]
    if re.fullmatch(r"-?\d+", a):
        return int(a)
    return lookup(a)

def call(name, args):
    if name == "toYaml":
        (v,) = args
        return yaml.safe_dump(v, default_flow_style=False, sort_keys=True).rstrip("\n")
    if name in ("nindent", "indent"):
        n, s = args
        body = "\n".join((" " * n + line) if line else line for line in str(s).split("\n"))
        return ("\n" if name == "nindent" else "") + body
    if name == "quote":
        (v,) = args
        return '"' + text_of(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if name == "eq":
        a, b = args
        return a == b
    raise RenderError(f"unsupported function {name!r}")

def pipeline(expr):
    value, first = None, True
    for cmd in (c.strip() for c in expr.split("|")):
        words = cmd.split()
        if first and len(words) == 1 and not words[0][0].isalpha():
            value = argument(words[0])
        else:
            args = [argument(w) for w in words[1:]]
            if not first:
                args.append(value)
            value = call(words[0], args)
        first = False
    return value

def truthy(v):
    return not (v is None or v is False or v == 0 or v == "" or v == [] or v == {})

def render(src):
    pieces = TOKEN.split(src)
    # pieces: text, ltrim, action, rtrim, text, ...
    texts = pieces[0::4]
    actions = [(pieces[i], pieces[i + 1], pieces[i + 2]) for i in range(1, len(pieces), 4)]
    for i, (ltrim, _, rtrim) in enumerate(actions):
        if ltrim:
            texts[i] = texts[i].rstrip(" \t\r\n")
        if rtrim:
            texts[i + 1] = texts[i + 1].lstrip(" \t\r\n")
    out, stack = [], []  # stack of [active, taken] for if/else
    active = lambda: all(a for a, _ in stack)
    for i, (_, action, _) in enumerate(actions):
        if active():
            out.append(texts[i])
        if action.startswith("if "):
            cond = truthy(pipeline(action[3:])) if active() else False
            stack.append([cond, cond])
        elif action == "else":
            if not stack:
                raise RenderError("else without if")
            stack[-1][0] = not stack[-1][1]
        elif action == "end":
            if not stack:
                raise RenderError("end without if")
            stack.pop()
        elif action.startswith("/*"):
            pass
        else:
            if active():
                out.append(text_of(pipeline(action)))
    if stack:
        raise RenderError("if without end")
    out.append(texts[-1])
    return "".join(out)

tdir = os.path.join(chart, "templates")
docs = []
for name in sorted(os.listdir(tdir)):
    if not name.endswith(".yaml"):
        continue
    with open(os.path.join(tdir, name)) as f:
        try:
            docs.append(render(f.read()))
        except RenderError as e:
            sys.exit(f"render: {name}: {e}")
print("\n---\n".join(docs))
PY
}

helm_values_refs() {
  cat "$1"/templates/*.yaml | grep -o '\.Values\.[A-Za-z0-9_.]*' | sort -u
}
