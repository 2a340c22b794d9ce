"""Tests for scripts/lint_atomics.py on small synthetic C++ files.

    /usr/bin/python3 -m pytest -q tests/scripts/test_lint_atomics.py
"""
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINT = os.path.join(ROOT, "scripts", "lint_atomics.py")

# A file that follows every rule: a head map, a label on the line, a label in the comment block
# above, a two-line CAS labelled above its first line, and an exempt parameter default.
CLEAN = """\
// A counter with a flag.
//
// Synchronization map:
//   [A1] release store of ready_ -- pairs with [A2].
//   [A2] acquire load of ready_.
//   [B1] relaxed CAS on count_: a statistic.
#pragma once

#include <atomic>

class Flag {
 public:
  void set() { ready_.store(true, std::memory_order_release); }  // [A1] publish

  bool get(std::memory_order order = std::memory_order_acquire) const {
    // [A2] acquire: pairs with [A1].
    return ready_.load(order) && ready_.load(std::memory_order_acquire);
  }

  void bump() {
    int cur = count_.load(std::memory_order_relaxed);  // [B1]
    // [B1] relaxed CAS: a statistic, orders nothing.
    while (!count_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed,
                                         std::memory_order_relaxed)) {
    }
  }

 private:
  std::atomic<bool> ready_{false};
  std::atomic<int> count_{1'000};
};
"""


def lint(*args):
    return subprocess.run([sys.executable, LINT, *map(str, args)], capture_output=True,
                          text=True, timeout=50)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def violations(result):
    """The `path:line` of each violation line (all lines but the summary)."""
    lines = result.stdout.splitlines()
    assert lines, result.stderr
    assert lines[-1].startswith("lint_atomics: "), result.stdout
    return [":".join(line.split(":")[:2]) for line in lines[:-1]]


def test_clean_file_passes(tmp_path):
    f = write(tmp_path / "flag.hpp", CLEAN)
    r = lint(f)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "lint_atomics: 1 file(s) clean"


def test_missing_label_fails_at_its_line(tmp_path):
    f = write(tmp_path / "flag.hpp", CLEAN.replace("  // [A1] publish", ""))
    r = lint(f)
    assert r.returncode == 1
    assert violations(r) == [f"{f}:13"]
    assert "memory_order_release without a [LABEL]" in r.stdout
    assert "1 violation(s) in 1 of 1 file(s)" in r.stdout


def test_label_absent_from_the_map_fails_at_the_label(tmp_path):
    text = CLEAN.replace("// [A2] acquire: pairs with [A1].", "// [A3] acquire: pairs with [A1].")
    f = write(tmp_path / "flag.hpp", text)
    r = lint(f)
    assert r.returncode == 1
    assert violations(r) == [f"{f}:16"]
    assert "label [A3] is not in the file's synchronization map" in r.stdout


def test_memory_order_consume_fails_even_when_labelled(tmp_path):
    text = CLEAN.replace("ready_.load(std::memory_order_acquire);",
                         "ready_.load(std::memory_order_consume);")
    f = write(tmp_path / "flag.hpp", text)
    r = lint(f)
    assert r.returncode == 1
    assert violations(r) == [f"{f}:17"]
    assert "memory_order_consume" in r.stdout


def test_consume_in_a_comment_or_default_argument(tmp_path):
    f = write(tmp_path / "c.hpp", """\
        // Synchronization map: [A1] acquire.
        // No memory_order_consume here: compilers promote it to acquire anyway.
        int load(std::memory_order order = std::memory_order::consume);
        int x = v.load(std::memory_order_acquire);  // [A1]
        """)
    r = lint(f)
    assert r.returncode == 1
    assert violations(r) == [f"{f}:3"]


def test_a_label_must_be_on_the_line_or_directly_above(tmp_path):
    f = write(tmp_path / "gap.cpp", """\
        // Synchronization map: [A1] relaxed.

        void f() {
          // [A1] relaxed: a blank line separates this comment from the load.

          x.load(std::memory_order_relaxed);
          // [A1] relaxed: labels only the line below.
          x.load(std::memory_order_relaxed);
          y.load(std::memory_order_relaxed);
        }
        """)
    r = lint(f)
    assert r.returncode == 1
    assert violations(r) == [f"{f}:6", f"{f}:9"]


def test_continuation_lines_take_the_label_of_their_statement(tmp_path):
    f = write(tmp_path / "cont.hpp", """\
        // Map: [A1] the CAS, [A2] the fence, [A3] the split assignment.
        void f() {
          // [A1] CAS over two lines.
          ok = a.compare_exchange_strong(e, d,
                                         std::memory_order_acq_rel,
                                         std::memory_order_relaxed);
          const bool b =
              a.load(std::memory_order_acquire);  // [A3]
          auto g = [&] {
            a.store(1, std::memory_order_relaxed);
          };
          std::atomic_thread_fence(std::memory_order_seq_cst);  // [A2]
        }
        """)
    r = lint(f)
    # The lambda body is a statement of its own: it needs its own label.
    assert violations(r) == [f"{f}:10"]


def test_comments_strings_and_digit_separators_do_not_trigger(tmp_path):
    f = write(tmp_path / "quiet.cpp", """\
        int n = 1'000'000;  // memory_order_relaxed in a comment is prose
        // x.load(std::memory_order_acquire) in a comment line
        /* a block comment
           std::atomic_thread_fence(std::memory_order_seq_cst);
        */
        const char* s = "compare_exchange_weak";
        const char c = '(';
        void f(std::memory_order order = std::memory_order_seq_cst,
               std::memory_order failure = std::memory_order_relaxed);
        """)
    r = lint(f)
    assert r.returncode == 0, r.stdout


def test_a_default_outside_a_parameter_list_needs_a_label(tmp_path):
    f = write(tmp_path / "k.hpp", """\
        constexpr std::memory_order kOrder = std::memory_order_acquire;
        """)
    assert violations(lint(f)) == [f"{f}:1"]


def test_a_synchronization_map_block_inside_the_file_counts(tmp_path):
    f = write(tmp_path / "late.hpp", """\
        #pragma once
        // Synchronization map (state_):
        //   [S1] acquire load.
        //   [S2] release store.

        // [S3] is mentioned after the block ended, so it is not in the map.
        void f() {
          state_.load(std::memory_order_acquire);   // [S1]
          state_.store(1, std::memory_order_release);  // [S2]
          state_.store(2, std::memory_order_release);  // [S3]
        }
        """)
    r = lint(f)
    assert violations(r) == [f"{f}:10"]
    assert "[S3]" in r.stdout


def test_directories_are_walked_for_hpp_and_cpp_only(tmp_path):
    write(tmp_path / "src" / "good.hpp", CLEAN)
    bad = write(tmp_path / "src" / "sub" / "bad.cpp", "x.load(std::memory_order_relaxed);\n")
    write(tmp_path / "src" / "notes.txt", "x.load(std::memory_order_relaxed);\n")
    write(tmp_path / "src" / "py.py", "x.load(std::memory_order_relaxed)\n")
    r = lint(tmp_path / "src")
    assert r.returncode == 1
    assert violations(r) == [f"{bad}:1"]
    assert "1 violation(s) in 1 of 2 file(s)" in r.stdout


def test_missing_path_is_bad_input(tmp_path):
    r = lint(tmp_path / "nope")
    assert r.returncode == 2
    assert "no such file or directory" in r.stderr
    assert r.stdout == ""


def test_default_roots_scan_the_repository():
    r = subprocess.run([sys.executable, LINT], capture_output=True, text=True, timeout=50,
                       cwd="/")
    assert r.returncode in (0, 1), r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1].startswith("lint_atomics: ")
    assert all(line.startswith(("variants/", "runtime/")) for line in lines[:-1])
