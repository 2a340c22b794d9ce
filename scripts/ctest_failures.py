#!/usr/bin/env python3
"""Prints, last, the output of every test the latest ctest run in a build directory failed.

ctest --output-on-failure prints a failure where it happens, which in a suite of thousands run in
parallel is far above the end of the log; CI keeps only the end. The Makefile's test targets call
this after a failed ctest so that what went wrong is the last thing printed:

    ctest --test-dir build/tsan ... || { scripts/ctest_failures.py build/tsan; exit 1; }

It reads Testing/Temporary/LastTestsFailed.log (the failed tests' numbers) and LastTest.log (every
test's output) and prints, per failed test, its command and at most --lines lines of its output
(the last ones, where gtest reports the failure and the summary) and how it ended.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HEADER = re.compile(r"^(\d+)/\d+ Testing: (.*)$")


def failed_numbers(temporary: Path) -> list[int]:
    path = temporary / "LastTestsFailed.log"
    if not path.exists():
        return []
    numbers = []
    for line in path.read_text(errors="replace").splitlines():
        head = line.split(":", 1)[0]
        if head.isdigit():
            numbers.append(int(head))
    return numbers


def test_blocks(log: str) -> dict[int, list[str]]:
    """Each test's block of LastTest.log, from its 'N/M Testing:' line to the next one."""
    blocks: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in log.splitlines():
        m = HEADER.match(line)
        if m:
            current = blocks.setdefault(int(m.group(1)), [])
        if current is not None:
            current.append(line)
    return blocks


def describe(block: list[str], lines: int) -> list[str]:
    name = HEADER.match(block[0]).group(2) if block and HEADER.match(block[0]) else "?"
    command = next((l for l in block if l.startswith("Command: ")), "Command: ?")
    try:
        start = block.index("Output:") + 2  # the dashes after it
        end = block.index("<end of output>", start)
    except ValueError:
        start, end = len(block), len(block)
    output = block[start:end]
    ending = [l for l in block[end:] if l.startswith(("Test time", "Test Failed", "Test Passed"))
              or "Timeout" in l or "Exception" in l or "Failed" in l]
    out = [f"=== FAILED: {name}", command]
    if len(output) > lines:
        out.append(f"... ({len(output) - lines} earlier lines of its output left out)")
    out += output[-lines:]
    out += ending
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build_dir", type=Path)
    ap.add_argument("--lines", type=int, default=120,
                    help="at most this many lines of each failed test's output (default 120)")
    args = ap.parse_args(argv)
    temporary = args.build_dir / "Testing" / "Temporary"
    numbers = failed_numbers(temporary)
    if not numbers:
        print(f"ctest_failures: no failed tests recorded under {temporary}", file=sys.stderr)
        return 0
    log_path = temporary / "LastTest.log"
    blocks = test_blocks(log_path.read_text(errors="replace")) if log_path.exists() else {}
    print(f"\n=== {len(numbers)} failed test(s) in {args.build_dir}; their output follows ===")
    for n in numbers:
        block = blocks.get(n)
        if block is None:
            print(f"=== FAILED: test #{n}: no output recorded in {log_path}")
            continue
        print("\n".join(describe(block, args.lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
