#!/usr/bin/python3
"""Renders the Helm chart in deploy/helm without helm (no Helm binary is packaged for
Debian or npm), for the tests. It implements the part of Go's text/template and of
Helm's functions that the chart uses, with their semantics, and refuses everything else
rather than render it differently:

  actions     {{ pipeline }}, {{- and -}} trimming, {{/* comments */}}
  control     if / else if / else / end, define "name" / end, range $k, $v := MAP / end
  operands    .Values.a.b, .Release.Name, .Release.Namespace, .Release.Service,
              .Chart.Name, .Chart.Version, .Chart.AppVersion, $ and $.…, . and .field
              inside define/range, "strings", integers, true, false, ( pipelines )
  functions   include, fail, required, default, quote, toYaml, toJson, nindent, indent,
              sha256sum, eq, ne, not, and, or, prepend, index, empty, printf (%s, %v)
  values      values.yaml, then -f FILE (deep merge; null removes a key), then --set
              K=V (Helm's typing: true/false are booleans, an integer is an int64,
              null removes the key, anything else is a string: --set image.tag=1.10 is
              the string "1.10"), --set-string K=V; then checked against
              values.schema.json (JSON Schema, as Helm does)
Refused: any other function or construct; printing a missing value (Helm prints "");
printing a number that Go would print differently (Helm reads values files as float64:
1000000 prints as 1e+06); --set values with lists, maps, commas or escapes.

  deploy_render.py CHART [--release NAME] [--namespace NS] [-f FILE]... [--set K=V]...
                   [--set-string K=V]... [--notes]
prints every template (files not starting with "_", NOTES.txt only with --notes),
"---" between documents; exits 1 with "render: ..." on anything refused.
"""
import copy, hashlib, json, os, re, sys
import yaml

try:
    import jsonschema
except ImportError:  # python3-jsonschema (deploy/build.sh installs it)
    jsonschema = None


class RenderError(Exception):
    pass


class SetInt(int):
    """An int64 from --set: printed in full (values files give float64)."""


# ------------------------------------------------------------------ values
def deep_merge(base, over):
    for k, v in over.items():
        if v is None:
            base.pop(k, None)
        elif isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)
    return base


def set_value(values, expr, as_string):
    key, eq, raw = expr.partition("=")
    if not eq or not key:
        raise RenderError(f"--set {expr!r}: expected KEY=VALUE")
    if re.search(r"[,{}\[\]\\]", raw) or re.search(r"[\[\]\\]", key):
        raise RenderError(f"--set {expr!r}: lists, maps, commas and escapes are not supported here; use -f FILE")
    if as_string:
        value = raw
    elif raw in ("true", "false"):
        value = raw == "true"
    elif raw == "null":
        value = None
    elif re.fullmatch(r"[-+]?(0|[1-9][0-9]*)", raw) and -2**63 <= int(raw) < 2**63:
        value = SetInt(int(raw))
    else:
        value = raw
    node = values
    parts = key.split(".")
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    if value is None:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


# ------------------------------------------------------------------ printing (Go's %v)
def text_of(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, SetInt):
        return str(int(v))
    if isinstance(v, int):
        if abs(v) >= 1000000:
            raise RenderError(f"number {v} would print as a float (Helm reads values as float64): quote it")
        return str(v)
    if isinstance(v, float):
        raise RenderError(f"number {v} printed: quote it in values")
    if isinstance(v, str):
        return v
    if v is None:
        raise RenderError("a missing value is printed (Helm would print an empty string)")
    raise RenderError("a map or list is printed without toYaml/toJson")


def plain(v):
    """Values as YAML/JSON would carry them (SetInt -> int), refusing floats."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, float) or (isinstance(v, int) and not isinstance(v, (bool, SetInt)) and abs(v) >= 1000000):
        raise RenderError(f"number {v} in toYaml/toJson: Helm would write it as a float; quote it")
    if isinstance(v, SetInt):
        return int(v)
    return v


def empty(v):
    return v is None or v is False or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0) \
        or (isinstance(v, (str, list, dict)) and len(v) == 0)


# ------------------------------------------------------------------ lexer and parser
TOKEN = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)


def tokenize(src, name):
    """[("text", s) | ("action", s)] with trimming applied."""
    out, pos = [], 0
    for m in TOKEN.finditer(src):
        text = src[pos:m.start()]
        if m.group(1):
            text = text.rstrip(" \t\r\n")
        out.append(["text", text])
        body = m.group(2).strip()
        if "{{" in body:
            raise RenderError(f"{name}: unbalanced action")
        out.append(["action", body, bool(m.group(3))])
        pos = m.end()
    out.append(["text", src[pos:]])
    for i, t in enumerate(out):
        if t[0] == "action" and t[2] and i + 1 < len(out):
            out[i + 1][1] = out[i + 1][1].lstrip(" \t\r\n")
    if re.search(r"\{\{|\}\}", "".join(t[1] for t in out if t[0] == "text")):
        raise RenderError(f"{name}: '{{{{' or '}}}}' outside an action (a trim marker needs a space: '{{{{- ')")
    return out


def parse(tokens, name, defines):
    """Tree: list of nodes ("text", s) | ("out", expr) | ("if", [(cond, body)...], else)
    | ("range", kvar, vvar, expr, body)."""
    pos = 0

    def block(stop):
        nonlocal pos
        nodes = []
        while pos < len(tokens):
            t = tokens[pos]
            pos += 1
            if t[0] == "text":
                if t[1]:
                    nodes.append(("text", t[1]))
                continue
            a = t[1]
            if a.startswith("/*"):
                if not a.endswith("*/"):
                    raise RenderError(f"{name}: unterminated comment")
                continue
            word = a.split(None, 1)[0] if a else ""
            if word in ("end", "else") and word in stop:
                return nodes, a
            if word == "if":
                branches, other = [], None
                cond = a[3:]
                while True:
                    body, ender = block(("end", "else"))
                    branches.append((cond, body))
                    if ender == "end":
                        break
                    if ender.startswith("else if "):
                        cond = ender[len("else if "):]
                        continue
                    if ender != "else":
                        raise RenderError(f"{name}: unsupported {ender!r}")
                    other, ender = block(("end",))
                    break
                nodes.append(("if", branches, other))
            elif word == "range":
                m = re.fullmatch(r"range\s+\$(\w+)\s*,\s*\$(\w+)\s*:=\s*(.+)", a, re.S)
                if not m:
                    raise RenderError(f"{name}: only 'range $k, $v := MAP' is supported")
                body, ender = block(("end",))
                if ender != "end":
                    raise RenderError(f"{name}: range with else is not supported")
                nodes.append(("range", m.group(1), m.group(2), m.group(3), body))
            elif word == "define":
                m = re.fullmatch(r'define\s+"([^"]+)"', a)
                if not m:
                    raise RenderError(f"{name}: bad define")
                body, ender = block(("end",))
                if ender != "end":
                    raise RenderError(f"{name}: define with else")
                defines[m.group(1)] = body
            elif word in ("end", "else", "with", "template", "block", "break", "continue") or re.match(r"\$\w*\s*:?=", a):
                raise RenderError(f"{name}: unsupported {a!r}")
            else:
                nodes.append(("out", a))
        if stop:
            raise RenderError(f"{name}: missing {{{{ end }}}}")
        return nodes, None

    nodes, _ = block(())
    return nodes


# ------------------------------------------------------------------ evaluation
class Renderer:
    def __init__(self, root, defines):
        self.root, self.defines, self.depth = root, defines, 0

    def split_words(self, s):
        words, i, cur = [], 0, ""
        while i < len(s):
            c = s[i]
            if c == '"':
                j = i + 1
                while j < len(s) and s[j] != '"':
                    j += 2 if s[j] == "\\" else 1
                if j >= len(s):
                    raise RenderError(f"unterminated string in {s!r}")
                cur += s[i:j + 1]; i = j + 1; continue
            if c == "(":
                depth, j = 1, i + 1
                while j < len(s) and depth:
                    if s[j] == '"':
                        j += 1
                        while j < len(s) and s[j] != '"':
                            j += 2 if s[j] == "\\" else 1
                    elif s[j] == "(":
                        depth += 1
                    elif s[j] == ")":
                        depth -= 1
                    j += 1
                if depth:
                    raise RenderError(f"unbalanced parentheses in {s!r}")
                cur += s[i:j]; i = j; continue
            if c in " \t\n\r|":
                if cur:
                    words.append(cur); cur = ""
                if c == "|":
                    words.append("|")
                i += 1; continue
            cur += c; i += 1
        if cur:
            words.append(cur)
        return words

    def operand(self, w, dot, vars_):
        if w.startswith('"'):
            return json.loads(w)  # Go's interpreted string literals: JSON's escapes suffice here
        if w.startswith("("):
            return self.pipeline(w[1:-1], dot, vars_)
        if re.fullmatch(r"-?[0-9]+", w):
            return int(w)
        if w in ("true", "false"):
            return w == "true"
        if w == ".":
            return dot
        if w == "$":
            return self.root
        if re.fullmatch(r"\$\w+", w):
            if w[1:] not in vars_:
                raise RenderError(f"undefined variable {w}")
            return vars_[w[1:]]
        m = re.fullmatch(r"(\$\w*|)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", w)
        if not m:
            raise RenderError(f"unsupported operand {w!r}")
        base = m.group(1)
        if base == "$":
            node = self.root
        elif base:
            if base[1:] not in vars_:
                raise RenderError(f"undefined variable {base}")
            node = vars_[base[1:]]
        else:
            node = dot
        for f in m.group(2)[1:].split("."):
            if node is None:
                raise RenderError(f"{w}: nil pointer evaluating .{f}")
            if not isinstance(node, dict):
                raise RenderError(f"{w}: .{f} of a non-map")
            node = node.get(f)
        return node

    def pipeline(self, expr, dot, vars_):
        words = self.split_words(expr)
        cmds, cur = [], []
        for w in words:
            if w == "|":
                if not cur:
                    raise RenderError(f"empty command in {expr!r}")
                cmds.append(cur); cur = []
            else:
                cur.append(w)
        if not cur:
            raise RenderError(f"empty command in {expr!r}")
        cmds.append(cur)
        value, first = None, True
        for cmd in cmds:
            head = cmd[0]
            if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", head) and head not in ("true", "false"):
                args = [self.operand(w, dot, vars_) for w in cmd[1:]]
                if not first:
                    args.append(value)
                value = self.call(head, args)
            else:
                if len(cmd) != 1 or not first:
                    raise RenderError(f"cannot call {head!r} in {expr!r}")
                value = self.operand(head, dot, vars_)
            first = False
        return value

    def call(self, name, args):
        def arity(n):
            if len(args) != n:
                raise RenderError(f"{name}: wants {n} arguments, got {len(args)}")
        if name == "include":
            arity(2)
            if args[0] not in self.defines:
                raise RenderError(f"include: no template {args[0]!r}")
            self.depth += 1
            if self.depth > 50:
                raise RenderError("include nested too deep")
            try:
                return self.run(self.defines[args[0]], args[1], {})
            finally:
                self.depth -= 1
        if name == "fail":
            arity(1)
            raise RenderError(f"fail: {text_of(args[0])}")
        if name == "required":
            arity(2)
            if args[1] is None or args[1] == "":
                raise RenderError(f"required: {text_of(args[0])}")
            return args[1]
        if name == "default":
            arity(2)
            return args[0] if empty(args[1]) else args[1]
        if name == "empty":
            arity(1)
            return empty(args[0])
        if name == "quote":
            return " ".join('"' + text_of(a).replace("\\", "\\\\").replace('"', '\\"') + '"' for a in args if a is not None)
        if name == "toYaml":
            arity(1)
            return yaml.safe_dump(plain(args[0]), default_flow_style=False, sort_keys=True).rstrip("\n") \
                if args[0] is not None else "null"
        if name == "toJson":
            arity(1)
            return json.dumps(plain(args[0]), separators=(",", ":"), sort_keys=True, ensure_ascii=False) \
                .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        if name in ("indent", "nindent"):
            arity(2)
            n, s = args
            if not isinstance(n, int):
                raise RenderError(f"{name}: width is not an int")
            pad = " " * n
            body = pad + text_of(s).replace("\n", "\n" + pad)
            return ("\n" + body) if name == "nindent" else body
        if name == "sha256sum":
            arity(1)
            return hashlib.sha256(text_of(args[0]).encode()).hexdigest()
        if name in ("eq", "ne"):
            arity(2)
            a, b = args
            kinds = {type(x) if not isinstance(x, bool) else bool for x in (a, b)}
            if isinstance(a, (dict, list)) or isinstance(b, (dict, list)) or \
                    len({bool if isinstance(x, bool) else int if isinstance(x, int) else type(x) for x in (a, b)}) > 1:
                raise RenderError(f"{name}: incompatible types for comparison")
            return (a == b) if name == "eq" else (a != b)
        if name == "not":
            arity(1)
            return empty(args[0])
        if name == "and":
            for a in args:
                if empty(a):
                    return a
            return args[-1]
        if name == "or":
            for a in args:
                if not empty(a):
                    return a
            return args[-1]
        if name == "printf":
            if not args or not isinstance(args[0], str):
                raise RenderError("printf: wants a format string")
            fmt, rest = args[0], list(args[1:])
            def verb(m):
                if m.group(0) == "%%":
                    return "%"
                if not rest:
                    raise RenderError("printf: too few arguments")
                v = rest.pop(0)
                if m.group(0) == "%s" and not isinstance(v, str):
                    raise RenderError("printf: %s of a non-string")
                return text_of(v)
            out = re.sub(r"%[sv%]", verb, fmt)
            if rest or re.search(r"%[^sv%]", fmt):
                raise RenderError("printf: only %s and %v, one argument each")
            return out
        if name == "prepend":
            arity(2)
            if not isinstance(args[0], list):
                raise RenderError("prepend: not a list")
            return [args[1]] + args[0]
        if name == "index":
            arity(2)
            if not isinstance(args[0], dict) or not isinstance(args[1], str):
                raise RenderError("index: only MAP KEY is supported")
            return args[0].get(args[1])
        raise RenderError(f"unsupported function {name!r}")

    def run(self, nodes, dot, vars_):
        out = []
        for n in nodes:
            if n[0] == "text":
                out.append(n[1])
            elif n[0] == "out":
                out.append(text_of(self.pipeline(n[1], dot, vars_)))
            elif n[0] == "if":
                for cond, body in n[1]:
                    if not empty(self.pipeline(cond, dot, vars_)):
                        out.append(self.run(body, dot, vars_))
                        break
                else:
                    if n[2] is not None:
                        out.append(self.run(n[2], dot, vars_))
            elif n[0] == "range":
                m = self.pipeline(n[3], dot, vars_)
                if m is None:
                    continue
                if not isinstance(m, dict):
                    raise RenderError("range: only maps are supported")
                for k in sorted(m):
                    out.append(self.run(n[4], m[k], {**vars_, n[1]: k, n[2]: m[k]}))
        return "".join(out)


def main(argv):
    if not argv:
        raise RenderError("usage: deploy_render.py CHART [options]")
    chart, args = argv[0], argv[1:]
    release, namespace, files, sets, notes = "reaper", "reaper-system", [], [], False
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--notes":
            notes = True; i += 1; continue
        if a not in ("--release", "--namespace", "-f", "--values", "--set", "--set-string") or i + 1 >= len(args):
            raise RenderError(f"bad argument {a!r}")
        v = args[i + 1]; i += 2
        if a == "--release": release = v
        elif a == "--namespace": namespace = v
        elif a in ("-f", "--values"): files.append(v)
        else: sets.append((v, a == "--set-string"))
    with open(os.path.join(chart, "Chart.yaml")) as f:
        meta = yaml.safe_load(f)
    with open(os.path.join(chart, "values.yaml")) as f:
        values = yaml.safe_load(f) or {}
    for path in files:
        with open(path) as f:
            deep_merge(values, yaml.safe_load(f) or {})
    for expr, as_string in sets:
        set_value(values, expr, as_string)
    schema_path = os.path.join(chart, "values.schema.json")
    if os.path.exists(schema_path):
        if jsonschema is None:
            raise RenderError("python3-jsonschema is needed to check values.schema.json")
        with open(schema_path) as f:
            schema = json.load(f)
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(plain(values)), key=lambda e: list(e.path))
        if errors:
            raise RenderError("values don't meet the schema:\n" + "\n".join(
                f"- {'.'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors))
    root = {
        "Values": values,
        "Release": {"Name": release, "Namespace": namespace, "Service": "Helm"},
        "Chart": {"Name": meta["name"], "Version": meta["version"], "AppVersion": meta.get("appVersion")},
    }
    tdir = os.path.join(chart, "templates")
    defines, trees = {}, []
    for name in sorted(os.listdir(tdir)):
        with open(os.path.join(tdir, name)) as f:
            src = f.read()
        tree = parse(tokenize(src, name), name, defines)
        if name.startswith("_"):
            if any(n[0] != "text" or n[1].strip() for n in tree):
                raise RenderError(f"{name}: partials hold only defines")
            continue
        if name == "NOTES.txt":
            if notes:
                trees.append((name, tree))
            continue
        if not notes and name.endswith((".yaml", ".yml", ".tpl")):
            trees.append((name, tree))
    r = Renderer(root, defines)
    docs = []
    for name, tree in trees:
        try:
            text = r.run(tree, root, {})
        except RenderError as e:
            raise RenderError(f"{name}: {e}")
        if text.strip():
            docs.append(text.strip("\n"))
    print("\n---\n".join(docs))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except RenderError as e:
        sys.exit(f"render: {e}")
