#!/usr/bin/env python3
"""The regression gate: checks fresh results against results/thresholds.toml.

    check_regression.py --rules results/thresholds.toml --csv build/bench-ci/*.csv \
        [--baseline-dir results/baseline] [--kinds instructions,ratio] \
        [--ab-base base.csv --ab-cand cand.csv] [--json verdicts.json]

Prints one line per rule (per `each` value): verdict, rule, value, bound and the numbers behind
it, then a summary. Exit status: 0 all pass, 1 a rule failed, 2 bad input (a missing file, an
unknown column, a malformed rule, a rule that matches no rows) with a message naming it, 3
inconclusive: no rule failed, but a rule that needs cores (`needs_cores`) had too few reps
measured with them free (scripts/gate_load.py) to judge; its line names the load seen. A
failure wins over an inconclusive rule (exit 1); `make bench-ci` re-runs the bench once on 3.

The rules and their kinds are described in scripts/gate_rules.py. `--kinds` lists the kinds to
check (all three by default); a kind whose input was not given is then bad input, so CI cannot
pass by forgetting a file. evaluate() is the same check as a function (the notebook uses it).
"""
import argparse
import fnmatch
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weft_csv  # noqa: E402
import gate_load  # noqa: E402
from gate_rules import INT_COLUMNS, GateError, load_rules  # noqa: E402

PROG = "check_regression"
EXIT_FAIL, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE = 1, 2, 3
KINDS = ("instructions", "ratio", "ab")
ICOUNT_WORKLOAD = "icount"
ICOUNT_METRIC = "instructions_per_iter"
BASELINE_INSTRUCTIONS = "instructions.csv"


def _load(paths):
    try:
        return weft_csv.load(list(paths))
    except weft_csv.CsvError as e:
        raise GateError(str(e)) from None


def _select(df, where):
    mask = None
    for col, val in where.items():
        col_vals = df[col] if col not in INT_COLUMNS else df[col].astype("Int64")
        cast = int if col in INT_COLUMNS else str
        m = col_vals.isin([cast(v) for v in (val if isinstance(val, list) else [val])])
        mask = m if mask is None else mask & m
    return df if mask is None else df[mask]


def _describe(where):
    return " ".join(f"{k}={'|'.join(map(str, v)) if isinstance(v, list) else v}"
                    for k, v in where.items())


def _verdict(rule, kind, ok, value, bound, detail, label=None):
    return {"rule": label or rule["name"], "kind": kind, "value": value, "bound": bound,
            "verdict": "PASS" if ok else "FAIL", "detail": detail}


def _error(rule, kind, detail, label=None, verdict="ERROR"):
    return {"rule": label or rule["name"], "kind": kind, "value": None, "bound": None,
            "verdict": verdict, "detail": detail}


def _groups(df, rule):
    """(label, {col: value}) for each distinct value of the rule's `each` columns in df."""
    each = rule["each"]
    if not each:
        return [(rule["name"], {})]
    keys = df[each].drop_duplicates().sort_values(each).itertuples(index=False, name=None)
    return [(f"{rule['name']}[{','.join(map(str, k))}]", dict(zip(each, k))) for k in keys]


# --- kind 1: instruction counts ---

def instruction_cases(df, pattern="*"):
    """Median instructions per iteration of the icount rows, by case ("shape/variant") matching
    the glob `pattern`."""
    df = df[(df["workload"] == ICOUNT_WORKLOAD) & (df["metric"] == ICOUNT_METRIC)]
    keyed = df.assign(case=df["shape"] + "/" + df["variant"])
    keyed = keyed[keyed["case"].map(lambda c: fnmatch.fnmatchcase(c, pattern))]
    return keyed.groupby("case")["value"].median()


def check_instructions(rule, fresh, baseline):
    pattern = rule["case"]
    base, new = instruction_cases(baseline, pattern), instruction_cases(fresh, pattern)
    if base.empty:
        return [_error(rule, "instructions", f"no baseline case matches '{pattern}'")]
    out = []
    limit = rule["max_increase_pct"]
    for case, b in base.items():
        label = f"{rule['name']}[{case}]"
        if case not in new:
            out.append(_error(rule, "instructions",
                                 f"case {case} is in the baseline but not in the fresh run", label))
            continue
        change = (new[case] / b - 1.0) * 100.0
        out.append(_verdict(rule, "instructions", change <= limit, round(change, 2), limit,
                            f"{new[case]:.1f} vs baseline {b:.1f} instructions/iter "
                            f"({change:+.2f}%, limit +{limit}%)", label))
    return out


# --- kind 2: ratios inside one run ---

PAIR_KEY = ["run_id", "rep"]


def paired_ratios(num, den):
    """num/den rep by rep, when both sides have one row per (run_id, rep) and the same ones.

    weft-bench runs repetitions outermost, so rep i of every variant and thread count ran close
    together in time: a spell of a slower machine (another tenant, a frequency change) weighs
    on both sides of a pair, and the median of the pairs' ratios cancels it where the ratio of
    the two medians would not. None when the rows do not pair up (then: ratio of medians)."""
    n, d = num.set_index(PAIR_KEY)["value"], den.set_index(PAIR_KEY)["value"]
    if (len(n) < 3 or not n.index.is_unique or not d.index.is_unique
            or set(n.index) != set(d.index)):
        return None
    return n / d.reindex(n.index)

def _with_the_cores(rule, n, d, loads):
    """n and d narrowed to the reps that had the rule's cores (all of them when it needs none),
    and what the load was: (n, d, note), or (None, None, note) when too few reps qualify."""
    if "needs_cores" not in rule:
        return n, d, ""
    good, note = gate_load.qualifying_reps(n, d, loads, rule["needs_cores"])
    if len(good) < rule["min_reps"]:
        return None, None, f"{note}; needs {rule['min_reps']} such reps to judge"
    def keep(rows):
        return rows[[k in good for k in zip(rows["run_id"], rows["rep"])]]
    return keep(n), keep(d), f"; {note}"


def check_ratio(rule, df):
    loads = gate_load.load_rows(df) if "needs_cores" in rule else None
    scope = _select(df, rule["where"])
    nums = _select(scope, rule["num"])
    if nums.empty:
        return [_error(rule, "ratio", f"no rows match {_describe({**rule['where'], **rule['num']})}")]
    out = []
    for label, group in _groups(nums, rule):
        num_where = {**rule["num"], **group}  # the group narrows a list in num
        den_where = {**group, **rule["den"]}  # den may override the group (variant = "mutex")
        n, d = _select(scope, num_where), _select(scope, den_where)
        if d.empty:
            out.append(_error(rule, "ratio", "no rows match "
                              f"{_describe({**rule['where'], **den_where})}", label))
            continue
        n, d, load_note = _with_the_cores(rule, n, d, loads)
        if n is None:
            out.append(_error(rule, "ratio", f"{_describe(num_where)}: {load_note}", label,
                              verdict="INCONCLUSIVE"))
            continue
        n_med, d_med = n["value"].median(), d["value"].median()
        paired = paired_ratios(n, d)
        if paired is not None:
            ratio, how = float(paired.median()), f"median of {len(paired)} per-rep ratios"
        else:
            ratio, how = (n_med / d_med if d_med else float("inf")), "ratio of medians"
        ok, bound = True, []
        if "floor" in rule:
            ok &= ratio >= rule["floor"]
            bound.append(f">= {rule['floor']}")
        if "ceiling" in rule:
            ok &= ratio <= rule["ceiling"]
            bound.append(f"<= {rule['ceiling']}")
        detail = (f"{_describe(num_where)}: {n_med:.4g} (n={len(n)}) / "
                  f"{_describe(den_where)}: {d_med:.4g} (n={len(d)}); {how}{load_note}")
        out.append(_verdict(rule, "ratio", ok, round(ratio, 4), " and ".join(bound), detail, label))
    return out


# --- kind 3: wall-clock A/B ---

def mann_whitney_worse(cand, base, metric):
    """One-sided p-value that the candidate's values are worse than the baseline's."""
    from scipy.stats import mannwhitneyu
    alternative = "less" if weft_csv.higher_is_better(metric) else "greater"
    return float(mannwhitneyu(cand, base, alternative=alternative).pvalue)


def slowdown_pct(cand_median, base_median, metric):
    """How much slower the candidate is, in percent (negative: faster)."""
    if weft_csv.higher_is_better(metric):
        return (base_median / cand_median - 1.0) * 100.0
    return (cand_median / base_median - 1.0) * 100.0


def check_ab(rule, base_df, cand_df):
    metric = rule["where"]["metric"]
    base_scope, cand_scope = _select(base_df, rule["where"]), _select(cand_df, rule["where"])
    if cand_scope.empty:
        return [_error(rule, "ab", f"no candidate rows match {_describe(rule['where'])}")]
    out = []
    for label, group in _groups(cand_scope, rule):
        base, cand = _select(base_scope, group)["value"], _select(cand_scope, group)["value"]
        if min(len(base), len(cand)) < rule["pairs"]:
            out.append(_error(rule, "ab", f"{_describe(group)}: {len(base)} baseline and "
                                             f"{len(cand)} candidate values, need {rule['pairs']}", label))
            continue
        p = mann_whitney_worse(cand.to_numpy(), base.to_numpy(), metric)
        slow = slowdown_pct(cand.median(), base.median(), metric)
        fail = p < rule["p"] and slow > rule["max_slowdown_pct"]
        detail = (f"{metric} median {cand.median():.4g} vs baseline {base.median():.4g} "
                  f"({slow:+.1f}%), Mann-Whitney p={p:.2g} (n={len(cand)}+{len(base)}); fails at "
                  f"p < {rule['p']} and slowdown > {rule['max_slowdown_pct']}%")
        out.append(_verdict(rule, "ab", not fail, round(slow, 2),
                            f"p<{rule['p']} & >{rule['max_slowdown_pct']}%", detail, label))
    return out


def select_rules(rules, only):
    """The rules whose name matches one of the globs in `only` (all if None)."""
    if not only:
        return rules
    chosen = [r for r in rules if any(fnmatch.fnmatchcase(r["name"], g) for g in only)]
    if not chosen:
        raise GateError(f"no rule is named like {', '.join(only)} "
                        f"(rules: {', '.join(r['name'] for r in rules)})")
    return chosen


def evaluate(thresholds_path, csv_paths, baseline_dir="results/baseline", kinds=None,
             ab_base=None, ab_cand=None, only=None):
    """Verdicts (dicts: rule, kind, value, bound, verdict, detail) of every rule of the chosen
    kinds (and names: `only`, globs). kinds=None checks the kinds whose input is present and
    skips the others. Raises GateError on bad input; a rule that matches no rows gives an ERROR
    verdict."""
    rules = select_rules(load_rules(thresholds_path), only)
    fresh = _load(csv_paths) if csv_paths else None
    has_icount = fresh is not None and (fresh["workload"] == ICOUNT_WORKLOAD).any()
    has_runs = fresh is not None and (fresh["workload"] != ICOUNT_WORKLOAD).any()
    available = {"instructions": has_icount, "ratio": has_runs,
                 "ab": ab_base is not None and ab_cand is not None}
    explicit = kinds is not None
    kinds = set(kinds if explicit else KINDS)
    baseline = None
    if "instructions" in kinds and (explicit or has_icount):
        baseline = _load([os.path.join(baseline_dir, BASELINE_INSTRUCTIONS)])
    ab = None
    if "ab" in kinds and (explicit or available["ab"]):
        if not available["ab"]:
            raise GateError("the ab rules need --ab-base and --ab-cand")
        ab = (_load([ab_base]), _load([ab_cand]))
    out = []
    for rule in rules:
        kind = rule["kind"]
        if kind not in kinds:
            continue
        if not available[kind]:
            if explicit:
                raise GateError(f"rule {rule['name']}: no {kind} input given "
                                f"({'icount rows' if kind == 'instructions' else 'bench rows'}"
                                f" in --csv)")
            out.append(_error(rule, kind, "no input for this kind", verdict="SKIP"))
        elif kind == "instructions":
            out.extend(check_instructions(rule, fresh, baseline))
        elif kind == "ratio":
            out.extend(check_ratio(rule, fresh))
        else:
            out.extend(check_ab(rule, *ab))
    return out


def _fmt(v):
    return "-" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))


VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE", "ERROR", "SKIP")


def report(verdicts, stream=sys.stdout):
    width = max((len(v["rule"]) for v in verdicts), default=10)
    vwidth = max((len(v["verdict"]) for v in verdicts), default=5)
    for v in verdicts:
        print(f"{v['verdict']:<{vwidth}} {v['kind']:<12} {v['rule']:<{width}}  "
              f"value={_fmt(v['value'])}"
              f"  bound={_fmt(v['bound'])}  {v['detail']}", file=stream)
    counts = {k: sum(v["verdict"] == k for v in verdicts) for k in VERDICTS}
    print(f"{PROG}: {len(verdicts)} checks: " +
          ", ".join(f"{n} {k.lower()}" for k, n in counts.items() if n or k in ("PASS", "FAIL")),
          file=stream)
    failed = [v["rule"] for v in verdicts if v["verdict"] == "FAIL"]
    if failed:
        print(f"{PROG}: FAILED: {', '.join(failed)}", file=stream)
    unsure = [v["rule"] for v in verdicts if v["verdict"] == "INCONCLUSIVE"]
    if unsure:
        print(f"{PROG}: INCONCLUSIVE (measured without the cores they need, so no evidence "
              f"either way): {', '.join(unsure)}", file=stream)


def exit_status(verdicts):
    """EXIT_FAIL if a rule failed, else EXIT_INCONCLUSIVE if one could not judge, else 0."""
    if any(v["verdict"] == "FAIL" for v in verdicts):
        return EXIT_FAIL
    return EXIT_INCONCLUSIVE if any(v["verdict"] == "INCONCLUSIVE" for v in verdicts) else 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0],
        epilog="exit status: 0 all pass, 1 a rule failed, 2 bad input, 3 inconclusive (no rule "
               "failed, but a rule with needs_cores had too few reps with those cores free; a "
               "failure wins)")
    ap.add_argument("--rules", default="results/thresholds.toml")
    ap.add_argument("--csv", nargs="*", default=[], help="fresh run CSVs (icount and bench rows)")
    ap.add_argument("--baseline-dir", default="results/baseline")
    ap.add_argument("--kinds", help=f"comma-separated subset of {','.join(KINDS)}")
    ap.add_argument("--ab-base", help="CSV of the baseline build's A/B reps (bench_ab.py)")
    ap.add_argument("--ab-cand", help="CSV of the candidate build's A/B reps (bench_ab.py)")
    ap.add_argument("--rule", action="append", help="check only rules named like this glob "
                    "(repeatable)")
    ap.add_argument("--json", help="also write the verdicts to this JSON file")
    args = ap.parse_args(argv)
    kinds = None
    if args.kinds:
        kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            weft_csv.die(PROG, f"--kinds: unknown kind(s) {', '.join(bad)} (valid: {', '.join(KINDS)})")
    try:
        verdicts = evaluate(args.rules, args.csv, args.baseline_dir, kinds,
                            args.ab_base, args.ab_cand, args.rule)
    except GateError as e:
        weft_csv.die(PROG, str(e))
    if not verdicts:
        weft_csv.die(PROG, f"no rule of kind(s) {args.kinds or 'any'} in {args.rules}")
    report(verdicts)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(verdicts, f, indent=1)
    errors = [v for v in verdicts if v["verdict"] == "ERROR"]
    if errors:
        weft_csv.die(PROG, "; ".join(f"{v['rule']}: {v['detail']}" for v in errors))
    return exit_status(verdicts)


if __name__ == "__main__":
    sys.exit(main())
