#!/usr/bin/env python3
"""Checks that every atomic ordering in Weft's C++ carries a label from its file's map.

    scripts/lint_atomics.py [ROOT ...]

ROOT is a file or a directory; directories are searched for *.hpp and *.cpp (files named on the
command line are checked whatever their suffix). Without a ROOT it checks variants/, runtime/ and capi/
of the repository this script lives in (the parent of scripts/).

STYLE.md asks for a labelled comment on every atomic operation ("// [T2] seq_cst fence: <why>.
Pairs with [S2] (steal).") and a synchronization map in the file's head that lists every label.
The rules, precisely:

Code and comments. Each line is split into code and comment text: // and /* */ comments
(which may span lines) are comment text; string and character literals are blanked out of the
code (a ' after a digit-led token is a digit separator, as in 1'000, not a literal). Raw string
literals are not understood. A *comment line* has comment text and no code.

Trigger lines. A line is checked when its code contains `memory_order_`, `memory_order::` (the
C++20 spelling of the same constants), `atomic_thread_fence` or `compare_exchange`. Comment lines
and text in comments or literals never trigger. One form is exempt: the default argument of a
parameter of type std::memory_order, `[std::]memory_order NAME = [std::]memory_order_X`, written
inside parentheses (a parameter list, possibly continued from an earlier line). It names the
caller's default, not an operation; the operation that uses NAME carries the label. The same
form outside parentheses (a variable or constant) is not exempt.

Where the label goes. A label is `[A-Z]+[0-9]*[a-z]?` in square brackets, e.g. [S7], [SL1],
[H2b]. A trigger line is labelled if a label appears in the comment text of
  - its statement: the lines from the first line of the statement through the trigger line.
    A line continues the statement above it when it starts inside a ( or [ opened on an earlier
    line (an open { starts a new statement: a lambda body is not a continuation), or when the
    previous code line ends in a binary operator, `=` or a macro's line splice
    (`= && || ? + - * / % | ^ << >> . -> \\`);
  - or the comment block directly above the statement's first line: the contiguous comment
    lines immediately before it, with no blank line in between.

The synchronization map. Every label in the comment text that labels a trigger line must occur
in its file's map, which is
  - the file's head comment: the first contiguous run of comment lines, starting at the first
    non-blank line of the file, and
  - every comment line that contains "Synchronization map" (any case), with the comment lines
    after it up to the first blank or code line.
A label is reported once per line it is written on, at that line.

memory_order_consume (or memory_order::consume) in code is an error wherever it appears, even in
an exempt default argument. Mentions in comments (explaining why it is not used) are allowed.

Output: one line per violation, `path:line: message`, sorted by path and line, then one summary
line. Exit status: 0 clean, 1 violations, 2 bad input (a ROOT that does not exist).
"""
import argparse
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ROOTS = ("variants", "runtime", "capi")
SUFFIXES = (".hpp", ".cpp")

TRIGGER = re.compile(r"memory_order_\w*|memory_order::\w*|atomic_thread_fence|compare_exchange\w*")
CONSUME = re.compile(r"memory_order_consume|memory_order::consume")
PARAM_DEFAULT = re.compile(
    r"(?:\bstd::)?\bmemory_order\s+[A-Za-z_]\w*\s*=\s*(?:std::)?memory_order(?:_\w+|::\w+)")
LABEL = re.compile(r"\[([A-Z]+[0-9]*[a-z]?)\]")
MAP_HEADING = re.compile(r"synchronization map", re.IGNORECASE)
# Code ending in one of these continues on the next line ('=' covers '==', '+=', ...).
CONTINUES = ("=", "&&", "||", "?", "+", "-", "*", "/", "%", "|", "^", "<<", ">>", ".", "->",
             "\\")
OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {")": "(", "]": "[", "}": "{"}


class Line:
    """One source line split into code (literals blanked) and comment text."""

    __slots__ = ("code", "comment", "stack")

    def __init__(self, code, comment, stack):
        self.code = code
        self.comment = comment
        self.stack = stack  # open brackets at the start of the line, innermost last

    @property
    def is_blank(self):
        return not self.code.strip() and not self.comment.strip()

    @property
    def is_comment(self):
        return not self.code.strip() and bool(self.comment.strip())

    @property
    def has_code(self):
        return bool(self.code.strip())


def _digit_separator(text, i):
    """Whether the ' at text[i] separates digits (1'000, 0xFF'FF) rather than opening a char."""
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "_."):
        j -= 1
    return j < i and text[j].isdigit()


def split_lines(text):
    """Splits a file into Line objects, tracking block comments and bracket nesting."""
    lines = []
    in_block = False
    stack = []
    for raw in text.split("\n"):
        code = []
        comment = []
        start_stack = tuple(stack)
        i = 0
        n = len(raw)
        while i < n:
            c = raw[i]
            if in_block:
                end = raw.find("*/", i)
                if end < 0:
                    comment.append(raw[i:])
                    i = n
                else:
                    comment.append(raw[i:end])
                    i = end + 2
                    in_block = False
                continue
            if raw.startswith("//", i):
                comment.append(raw[i + 2:])
                break
            if raw.startswith("/*", i):
                in_block = True
                i += 2
                continue
            if c == '"' or (c == "'" and not _digit_separator(raw, i)):
                j = i + 1
                while j < n and raw[j] != c:
                    j += 2 if raw[j] == "\\" else 1
                code.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
                i = j + 1
                continue
            if c in OPENERS:
                stack.append(c)
            elif c in CLOSERS and stack and stack[-1] == CLOSERS[c]:
                stack.pop()
            code.append(c)
            i += 1
        lines.append(Line("".join(code), " ".join(comment), start_stack))
    return lines


def bracket_stack_at(line, column):
    """The open brackets at `column` of `line`'s code, innermost last."""
    stack = list(line.stack)
    for c in line.code[:column]:
        if c in OPENERS:
            stack.append(c)
        elif c in CLOSERS and stack and stack[-1] == CLOSERS[c]:
            stack.pop()
    return stack


def triggering_code(line):
    """`line`'s code with exempt parameter defaults removed."""
    code = line.code
    for m in reversed(list(PARAM_DEFAULT.finditer(code))):
        stack = bracket_stack_at(line, m.start())
        if stack and stack[-1] == "(":
            code = code[:m.start()] + " " * (m.end() - m.start()) + code[m.end():]
    return code


def map_labels(lines):
    """Labels mentioned in the file's synchronization map (see the module docstring)."""
    rows = set()
    first = next((k for k, line in enumerate(lines) if not line.is_blank), None)
    if first is not None:
        k = first
        while k < len(lines) and lines[k].is_comment:
            rows.add(k)
            k += 1
    for k, line in enumerate(lines):
        if line.comment and MAP_HEADING.search(line.comment):
            rows.add(k)
            j = k + 1
            while j < len(lines) and lines[j].is_comment:
                rows.add(j)
                j += 1
    return {label for k in rows for label in LABEL.findall(lines[k].comment)}


def _previous_code_line(lines, k):
    j = k - 1
    while j >= 0 and lines[j].is_comment:
        j -= 1
    return j if j >= 0 and lines[j].has_code else None


def statement_start(lines, k):
    """The first line of the statement that line k belongs to."""
    while True:
        stack = lines[k].stack
        prev = _previous_code_line(lines, k)
        if prev is None:
            return k
        inside = bool(stack) and stack[-1] in "(["
        tail = lines[prev].code.rstrip()
        if not (inside or tail.endswith(CONTINUES)):
            return k
        k = prev


def label_rows(lines, k):
    """Line numbers (0-based) whose comment text may carry the label of trigger line k."""
    start = statement_start(lines, k)
    rows = list(range(start, k + 1))
    j = start - 1
    while j >= 0 and lines[j].is_comment:
        rows.append(j)
        j -= 1
    return rows


def lint_text(path, text):
    """Violations in one file's text, as (path, line, message) with 1-based lines."""
    lines = split_lines(text)
    known = map_labels(lines)
    out = []
    reported = set()
    for k, line in enumerate(lines):
        if CONSUME.search(line.code):
            out.append((path, k + 1, "memory_order_consume is not used in Weft (compilers "
                        "promote it to acquire); write memory_order_acquire"))
        match = TRIGGER.search(triggering_code(line))
        if not match:
            continue
        what = match.group(0)
        rows = label_rows(lines, k)
        found = [(r, label) for r in rows for label in LABEL.findall(lines[r].comment)]
        if not found:
            out.append((path, k + 1, f"{what} without a [LABEL] comment on the line or in the "
                        "comment block directly above"))
            continue
        for r, label in found:
            if label not in known and (r, label) not in reported:
                reported.add((r, label))
                out.append((path, r + 1, f"label [{label}] is not in the file's "
                            "synchronization map (head comment or 'Synchronization map' block)"))
    return sorted(set(out), key=lambda v: (v[1], v[2]))


def source_files(root):
    if os.path.isfile(root):
        return [root]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(SUFFIXES):
                found.append(os.path.join(dirpath, name))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Every atomic ordering carries a [LABEL] listed in its file's "
                    "synchronization map; no memory_order_consume.")
    parser.add_argument("roots", nargs="*", metavar="ROOT",
                        help="files or directories (default: variants runtime capi of the repository)")
    args = parser.parse_args(argv)
    if args.roots:
        roots = [(root, root) for root in args.roots]
    else:
        roots = [(os.path.join(REPO, root), root) for root in DEFAULT_ROOTS]
    missing = [shown for real, shown in roots if not os.path.exists(real)]
    if missing:
        for shown in missing:
            print(f"lint_atomics: no such file or directory: {shown}", file=sys.stderr)
        return 2

    violations = []
    files = 0
    for real, shown in roots:
        for path in source_files(real):
            files += 1
            # Paths print as the ROOT was given (the defaults relative to the repository).
            display = shown if os.path.isfile(real) else os.path.join(
                shown, os.path.relpath(path, real))
            with open(path, encoding="utf-8", errors="replace") as f:
                violations.extend(lint_text(display, f.read()))
    for path, line, message in violations:
        print(f"{path}:{line}: {message}")
    bad_files = len({v[0] for v in violations})
    if violations:
        print(f"lint_atomics: {len(violations)} violation(s) in {bad_files} of {files} file(s)")
        return 1
    print(f"lint_atomics: {files} file(s) clean")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `lint_atomics.py | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
