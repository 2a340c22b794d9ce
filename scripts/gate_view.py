"""The regression gate's inputs and verdicts as tables, for notebooks/analysis.ipynb.

    thresholds_tables(path)          [(title, DataFrame)] of results/thresholds.toml
    read_instructions(results)       results/baseline/instructions.csv as it is, or None
    compare_to_baseline(run, base)   main metric of a run against the baseline, per cell
    verdicts(thresholds, csvs, base) scripts/check_regression.py's evaluate() as a DataFrame,
                                     or None and the reason it could not be had

Every function copes with a file that is not there (yet): it says so instead of failing.
"""
import glob
import importlib.util
import os
import sys
import tomllib

import pandas as pd

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, SCRIPTS)
import analysis  # noqa: E402
import weft_csv  # noqa: E402

VERDICT_COLUMNS = ["rule", "kind", "value", "bound", "verdict", "detail"]


def thresholds_path(results):
    path = os.path.join(results, "thresholds.toml")
    return path if os.path.isfile(path) else None


def thresholds_tables(path):
    """The TOML file as tables: an array of tables becomes a table per `kind` (or one table
    without kinds), a table of tables one table, a row each; a table of plain values a
    key/value table; top-level plain values the table 'settings'."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    tables, settings = [], {}
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows = pd.json_normalize(value)
            if "kind" in rows:  # one table per kind of rule: each kind has its own keys
                for kind, sub in rows.groupby("kind", sort=False):
                    tables.append((f"{key}: {kind}", sub.dropna(axis=1, how="all")))
            else:
                tables.append((key, rows))
        elif isinstance(value, dict) and value and all(isinstance(v, dict)
                                                       for v in value.values()):
            df = pd.json_normalize(list(value.values()))
            df.insert(0, "name", list(value))
            tables.append((key, df))
        elif isinstance(value, dict):
            flat = pd.json_normalize(value).iloc[0] if value else pd.Series(dtype=object)
            tables.append((key, flat.rename("value").rename_axis("key").reset_index()))
        else:
            settings[key] = value
    if settings:
        tables.insert(0, ("settings", pd.DataFrame(
            {"key": list(settings), "value": [str(v) for v in settings.values()]})))
    return tables


def read_instructions(results):
    path = os.path.join(results, "baseline", "instructions.csv")
    return pd.read_csv(path, keep_default_na=False) if os.path.isfile(path) else None


def split_constant(df):
    """({column: value} of the columns with one value in every row, df without them): a
    tidy CSV shown without the columns that repeat the machine and the commit."""
    const = [c for c in df.columns if df[c].nunique(dropna=False) == 1 and len(df) > 1]
    return {c: df[c].iloc[0] for c in const}, df.drop(columns=const)


def tidy_baselines(results):
    """(rows of every baseline/*.csv in the tidy schema or None, [notes on the others])."""
    frames, notes = [], []
    for path in sorted(glob.glob(os.path.join(results, "baseline", "*.csv"))):
        try:
            frames.append(weft_csv.load([path]))
        except weft_csv.CsvError as e:
            notes.append(f"not in the tidy schema, shown as it is: {e}")
    return (pd.concat(frames, ignore_index=True) if frames else None), notes


def compare_to_baseline(run, base):
    """Median main metric of `run` and of `base` per (workload, shape, config, variant,
    threads) they share: change = run / baseline; score > 1 means the run is better."""
    parts = []
    for (workload, shape), sub in run.groupby(["workload", "shape"], sort=True):
        metric = analysis.main_metric(sub)
        b = base[(base["workload"] == workload) & (base["shape"] == shape)]
        if metric is None or b.empty:
            continue
        now = weft_csv.rep_stats(sub, metric)[weft_csv.GROUP_KEYS + ["median"]]
        then = weft_csv.rep_stats(b, metric)[weft_csv.GROUP_KEYS + ["median"]]
        both = now.merge(then, on=weft_csv.GROUP_KEYS, suffixes=("", "_baseline"))
        both.insert(len(weft_csv.GROUP_KEYS), "metric", metric)
        parts.append(both)
    cols = weft_csv.GROUP_KEYS + ["metric", "median_baseline", "median", "change", "score"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out["change"] = out["median"] / out["median_baseline"]
    up = out["metric"].map(weft_csv.higher_is_better)
    out["score"] = out["change"].where(up, 1.0 / out["change"])
    return out[cols]


def baseline_summary(cmp):
    """Per workload and variant: geometric mean score of compare_to_baseline (> 1: the run is
    better than the baseline), the worst cell's score and the number of cells; worst first."""
    g = cmp.groupby(["workload", "variant"])
    out = g.agg(score=("score", analysis.geomean), worst=("score", "min"),
                n=("score", "count")).reset_index()
    return out.sort_values(["workload", "score"], ignore_index=True)


def verdicts(thresholds, csv_paths, baseline_dir, scripts_dir=SCRIPTS):
    """(DataFrame of check_regression.evaluate(thresholds, csv_paths, baseline_dir), "") or
    (None, why not): the script is absent, has no evaluate(), raises or returns something
    other than a list of dicts."""
    path = os.path.join(scripts_dir, "check_regression.py")
    if not os.path.isfile(path):
        return None, f"{path} does not exist (yet)"
    try:
        spec = importlib.util.spec_from_file_location("check_regression", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["check_regression"] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
        evaluate = getattr(module, "evaluate", None)
        if not callable(evaluate):
            return None, f"{path} defines no evaluate() function"
        result = evaluate(thresholds, list(csv_paths), baseline_dir)
    except (Exception, SystemExit) as e:
        return None, f"check_regression.evaluate failed: {type(e).__name__}: {e}"
    if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
        return None, f"evaluate() returned {type(result).__name__}, not a list of dicts"
    df = pd.DataFrame(result)
    extra = [c for c in df.columns if c not in VERDICT_COLUMNS]
    return df.reindex(columns=VERDICT_COLUMNS + extra), ""
