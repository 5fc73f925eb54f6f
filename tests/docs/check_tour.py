#!/usr/bin/env python3
"""check_tour.py -- every function the docs name exists where they say.

A function reference in the docs is written one way only:

    `name()` in `path/to/file.c`

For each such pair the file must exist and define the function (a body at
file scope, not just a prototype). Any other `name()` in backticks is an
error too, so a reference cannot slip past the check by being written
differently. Usage: check_tour.py [--root DIR] FILE.md...
Exit 0 when every reference holds, 1 otherwise (each failure on a line).
"""
import os
import re
import sys

PAIR = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)\(\)`\s+in\s+`([^`\s]+)`")
CALL = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)\(\)`")
FENCE = re.compile(r"^\s*```")


def strip_c(text):
    """The C text with comments, strings and character literals blanked
    (newlines kept, so offsets and line numbers stay)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        elif c == "#" and (i == 0 or text[i - 1] == "\n"):
            # a preprocessor line (with its continuations): not code
            j = i
            while True:
                k = text.find("\n", j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] != "\\":
                    break
                j = k + 1
            out.append(re.sub(r"[^\n]", " ", text[i:k]))
            i = k
        else:
            out.append(c)
            i += 1
    return "".join(out)


def defines(code, name):
    """Does @code (stripped C) define function @name at file scope?"""
    depth = 0
    pos = 0
    for m in re.finditer(r"\b%s\s*\(" % re.escape(name), code):
        # brace depth at the match
        for ch in code[pos:m.start()]:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
        pos = m.start()
        if depth != 0:
            continue
        # the parameter list, then a body
        level, j = 0, m.end() - 1
        while j < len(code):
            if code[j] == "(":
                level += 1
            elif code[j] == ")":
                level -= 1
                if level == 0:
                    break
            j += 1
        rest = code[j + 1:].lstrip()
        if rest.startswith("{"):
            return True
    return False


def prose(md_text):
    """The markdown with fenced code blocks blanked (newlines kept)."""
    out, in_fence = [], False
    for line in md_text.splitlines(keepends=True):
        if FENCE.match(line):
            in_fence = not in_fence
            out.append("\n")
        elif in_fence:
            out.append("\n")
        else:
            out.append(line)
    return "".join(out)


def check(md_path, root, cache):
    """Failures of @md_path, and how many references it holds."""
    bad = []
    with open(md_path, encoding="utf-8") as f:
        text = prose(f.read())
    paired = set()
    for m in PAIR.finditer(text):
        name, rel = m.group(1), m.group(2)
        paired.add(m.start())
        path = os.path.join(root, rel)
        where = "%s:%d" % (md_path, text.count("\n", 0, m.start()) + 1)
        if not os.path.isfile(path):
            bad.append("%s: %s() in %s: no such file" % (where, name, rel))
            continue
        if path not in cache:
            with open(path, encoding="utf-8", errors="replace") as c:
                cache[path] = strip_c(c.read())
        if not defines(cache[path], name):
            bad.append("%s: %s() is not defined in %s" % (where, name, rel))
    for m in CALL.finditer(text):
        if m.start() not in paired:
            bad.append("%s:%d: `%s()` is not followed by in `<file>`: the check cannot see it"
                       % (md_path, text.count("\n", 0, m.start()) + 1, m.group(1)))
    return bad, len(paired)


def main(argv):
    root = "."
    files = []
    args = iter(argv[1:])
    for a in args:
        if a == "--root":
            root = next(args)
        else:
            files.append(a)
    if not files:
        print("usage: check_tour.py [--root DIR] FILE.md...", file=sys.stderr)
        return 2
    cache = {}
    bad, refs = [], 0
    for md in files:
        b, n = check(md, root, cache)
        bad += b
        refs += n
    for b in bad:
        print(b, file=sys.stderr)
    print("docs: %d function references in %d files, %d wrong" % (refs, len(files), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
