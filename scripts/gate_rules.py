"""The rules of the regression gate: reading and validating results/thresholds.toml.

The file holds one array, `rules`, of inline tables, one rule per line:

    rules = [
      { kind = "instructions", name = "spawn", case = "spawn_run/*", max_increase_pct = 5 },
      { kind = "ratio", name = "tree-speedup", where = { workload = "spawn_storm", shape = "tree",
        metric = "tasks_per_s" }, num = { threads = 2 }, den = { threads = 1 }, each = "variant",
        floor = 1.0 },
      { kind = "ab", name = "flat", args = "--workload=spawn_storm --shape=flat --threads=1",
        where = { workload = "spawn_storm", shape = "flat", metric = "ns_per_task" },
        each = "variant", pairs = 9, p = 0.01, max_slowdown_pct = 10 },
    ]

Kinds:
  instructions  callgrind instructions per iteration of the `icount` rows whose "shape/variant"
                matches the glob `case`, against results/baseline/instructions.csv; fails above
                +max_increase_pct.
  A filter (where, num, den) is a table of column = value, or column = [values] for any of them;
                besides the CSV's columns, `config` and `io` (weft_csv.load(): a backend other
                than epoll also marks the variant, "ring+uring", so a rule naming variant =
                "ring" sees epoll rows only).
  ratio         median of the rows matching where+num over the median of those matching
                where+den, in the same run; `each` (a column or a list of columns) evaluates the
                rule once per distinct value, which num/den may override (den = { variant =
                "mutex" } compares every variant with mutex); fails below `floor` (or above
                `ceiling`). A ratio rule may state `needs_cores` (an integer: the cores its
                figure needs, 2 for a 2-worker speedup): it then judges only the reps that had
                them (scripts/gate_load.py) and is INCONCLUSIVE, neither pass nor fail, when
                fewer than `min_reps` (default 3) qualify.
  ab            the candidate's and the baseline's samples of the rows matching where (per
                `each`), alternated by scripts/bench_ab.py running `weft-bench <args>` `pairs`
                times each (a sample: the median of a run's `reps` repetitions);
                fails when a one-sided Mann-Whitney U test gives p < `p` and the median slowdown
                is above max_slowdown_pct.

load_rules() raises GateError naming the file, the rule and the key for anything malformed.
"""
import os
import tomllib

import weft_csv

# The CSV's columns and the two weft_csv.load() adds: config, and io (the Weft row's I/O
# backend, epoll where a CSV from before the --io axis does not say; "" for a peer).
COLUMNS = set(weft_csv.REQUIRED) | {"config", "io"}
INT_COLUMNS = {"threads", "rep", "cpus"}


class GateError(Exception):
    """Bad input: a missing file, an unknown column, a malformed rule."""


# kind -> (required keys, optional keys)
KEYS = {
    "instructions": ({"case", "max_increase_pct"}, {"name"}),
    "ratio": ({"where", "num", "den"},
              {"name", "each", "floor", "ceiling", "needs_cores", "min_reps"}),
    "ab": ({"args", "where", "max_slowdown_pct"}, {"name", "each", "pairs", "reps", "p"}),
}
DEFAULTS = {"ab": {"pairs": 9, "reps": 3, "p": 0.01, "each": []},
            "ratio": {"each": [], "min_reps": 3}}
NUMBER = (int, float)


def _check_filter(where, label, key):
    if not isinstance(where, dict):
        raise GateError(f"{label}: '{key}' must be a table of column = value")
    for col, val in where.items():
        if col not in COLUMNS:
            raise GateError(f"{label}: '{key}' names unknown column '{col}' "
                            f"(columns: {', '.join(sorted(COLUMNS))})")
        vals = val if isinstance(val, list) else [val]
        if not vals or not all(isinstance(v, (str, int)) for v in vals):
            raise GateError(f"{label}: '{key}.{col}' must be a string, an integer or a list of "
                            f"them")


def _check_rule(rule, index, path):
    label = f"{path}: rule {index + 1}"
    if not isinstance(rule, dict):
        raise GateError(f"{label}: must be a table")
    kind = rule.get("kind")
    if kind not in KEYS:
        raise GateError(f"{label}: 'kind' must be one of {', '.join(KEYS)}, got {kind!r}")
    label = f"{path}: rule {index + 1} ({rule.get('name', kind)})"
    required, optional = KEYS[kind]
    missing = sorted(required - rule.keys())
    if missing:
        raise GateError(f"{label}: missing key(s) {', '.join(missing)}")
    unknown = sorted(rule.keys() - required - optional - {"kind"})
    if unknown:
        raise GateError(f"{label}: unknown key(s) {', '.join(unknown)} "
                        f"(a {kind} rule takes {', '.join(sorted(required | optional))})")
    rule = {**DEFAULTS.get(kind, {}), **rule}
    if kind == "instructions":
        if not isinstance(rule["case"], str):
            raise GateError(f"{label}: 'case' must be a string glob like 'spawn_run/*'")
        if not isinstance(rule["max_increase_pct"], NUMBER):
            raise GateError(f"{label}: 'max_increase_pct' must be a number")
    else:
        for key in ("where", "num", "den") if kind == "ratio" else ("where",):
            _check_filter(rule[key], label, key)
        each = rule["each"]
        each = [each] if isinstance(each, str) else each
        if not isinstance(each, list) or any(c not in COLUMNS for c in each):
            raise GateError(f"{label}: 'each' must name columns of the CSV, got {rule['each']!r}")
        rule["each"] = each
    if kind == "ratio":
        bounds = [k for k in ("floor", "ceiling") if k in rule]
        if not bounds:
            raise GateError(f"{label}: needs a 'floor' or a 'ceiling'")
        if any(not isinstance(rule[k], NUMBER) for k in bounds):
            raise GateError(f"{label}: 'floor'/'ceiling' must be numbers")
        for key in ("needs_cores", "min_reps"):
            if key in rule and (type(rule[key]) is not int or rule[key] < 1):
                raise GateError(f"{label}: '{key}' must be an integer >= 1")
    if kind == "ab":
        if not isinstance(rule["args"], str) or not rule["args"].strip():
            raise GateError(f"{label}: 'args' must be weft-bench's arguments as one string")
        for key, least in (("pairs", 2), ("reps", 1)):
            if not isinstance(rule[key], int) or rule[key] < least:
                raise GateError(f"{label}: '{key}' must be an integer >= {least}")
        for key in ("p", "max_slowdown_pct"):
            if not isinstance(rule[key], NUMBER):
                raise GateError(f"{label}: '{key}' must be a number")
        if "metric" not in rule["where"]:
            raise GateError(f"{label}: 'where' must name the metric")
    rule.setdefault("name", f"{kind}{index + 1}")
    return rule


def load_rules(path):
    """The validated rules of `path` (a list of dicts, defaults filled in)."""
    if not os.path.isfile(path):
        raise GateError(f"{path}: file not found")
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise GateError(f"{path}: not valid TOML: {e}") from None
    rules = doc.get("rules")
    if not isinstance(rules, list) or not rules:
        raise GateError(f"{path}: needs a non-empty array 'rules'")
    unknown = sorted(doc.keys() - {"rules"})
    if unknown:
        raise GateError(f"{path}: unknown top-level key(s) {', '.join(unknown)}")
    out = [_check_rule(r, i, path) for i, r in enumerate(rules)]
    names = [r["name"] for r in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise GateError(f"{path}: rule names must be unique: {', '.join(dup)}")
    return out
