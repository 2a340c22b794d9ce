"""Shared loader for Weft benchmark CSVs (used by plot.py and summary.py).

Usage from a script in scripts/:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import weft_csv
    df = weft_csv.load(["results/a.csv", "results/b.csv"])   # raises weft_csv.CsvError

load() checks that every file exists, has the 17 schema columns and that
threads/rep are integers and value is a float; it concatenates all files.

The I/O backend (weft-bench --io) is the `io` key of a Weft row's params; a row without it
(a CSV from before the axis existed) was measured on epoll. load() adds it as the column `io`
("" for a peer, which has no Weft backend) and marks a backend other than epoll in `variant`
as weft-bench does ("ring+uring"), so each backend is a variant of its own in every table,
plot and gate rule.

Rows of more than one machine (a merge of Slurm sweeps, scripts/merge_runs.py): load() adds the
column `machine`, "host (cpu_model, N cores)", and machine_keys() names it, so that rep_stats,
the summaries, plots and rankings keep each machine's numbers apart. Rows of one machine get no
such column: their tables and figures are what they always were.
"""
import os
import sys

import pandas as pd

REQUIRED = [
    "run_id", "timestamp", "git_sha", "host", "cpu_model", "cpus", "compiler",
    "build", "variant", "workload", "shape", "threads", "params", "rep",
    "metric", "value", "unit",
]
# Preferred throughput metrics, first one present wins.
THROUGHPUT_METRICS = ["tasks_per_s", "msgs_per_s", "hops_per_s", "pairs_per_s", "ops_per_s"]
GROUP_KEYS = ["workload", "shape", "config", "variant", "threads"]
# Parameters that describe the scheduler rather than the workload's configuration.
POLICY_KEYS = {"steal", "victim", "backoff", "flavor", "io"}
CURRENT_THREAD = " (current_thread)"
# The I/O backend of a Weft row without an `io` parameter (older CSVs): the runtime's default.
DEFAULT_IO = "epoll"
# How the variant column names a backend other than DEFAULT_IO: "ring+uring".
IO_MARK = "+"
# Production runtimes measured in the same harness (harness/peers/README.md): variant names that
# are not Weft's. Plots draw them as reference lines; summaries give Weft's ratio to the best.
PEERS = ("tokio", "go", "asio", "asio_pool", "libuv", "tbb")


class CsvError(Exception):
    """Bad input: missing file, missing columns or badly typed cells."""


def _first_bad(raw, parsed, allow_nan):
    """Index of the first cell of `raw` that did not parse, or None."""
    bad = parsed.isna()
    if allow_nan:
        bad &= raw.str.strip().str.lower() != "nan"
    return bad.idxmax() if bad.any() else None


def _load_one(path):
    if not os.path.isfile(path):
        raise CsvError(f"{path}: file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise CsvError(f"{path}: file is empty (no header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise CsvError(f"{path}: cannot parse CSV: {e}") from None
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise CsvError(f"{path}: missing required column(s): {', '.join(missing)}")
    for col, kind in (("threads", "int"), ("rep", "int"), ("value", "float")):
        raw = df[col].astype(str)
        parsed = pd.to_numeric(raw.str.strip(), errors="coerce")
        idx = _first_bad(raw, parsed, allow_nan=(kind == "float"))
        if idx is None and kind == "int":
            frac = parsed % 1 != 0
            idx = frac.idxmax() if frac.any() else None
        if idx is not None:
            # +2: one for the header line, one because lines count from 1.
            raise CsvError(f"{path}: line {idx + 2}: column '{col}' must be "
                           f"{kind}, got {raw[idx]!r}")
        df[col] = parsed.astype("int64") if kind == "int" else parsed.astype(float)
    df["cpus"] = pd.to_numeric(df["cpus"].str.strip(), errors="coerce").astype("Int64")
    df["source"] = path
    return df


def parse_params(text):
    """{key: value} of a params cell ("a=1;b=2")."""
    out = {}
    for item in str(text).split(";"):
        if "=" in item:
            k, v = item.split("=", 1)
            out[k] = v
    return out


def add_config(df):
    """Adds `config`: the workload parameters that vary within each (workload, shape), as
    "k=v;k=v" ("" when nothing varies), and `io`: the Weft row's I/O backend (DEFAULT_IO when
    params do not say; "" for a peer); marks a backend other than DEFAULT_IO
    ("ring+uring", as weft-bench writes it) and current_thread runs in `variant`."""
    kv = df["params"].map(parse_params)
    peer = df["variant"].map(is_peer)
    df["io"] = kv.map(lambda d: d.get("io", DEFAULT_IO)).where(~peer, "")
    mark = df["io"].map(lambda io: IO_MARK + io if io not in ("", DEFAULT_IO) else "")
    unmarked = (mark != "") & ~pd.Series(
        [v.endswith(m) for v, m in zip(df["variant"], mark)], index=df.index, dtype=bool)
    df.loc[unmarked, "variant"] = df.loc[unmarked, "variant"] + mark[unmarked]
    ct = kv.map(lambda d: d.get("flavor") == "current_thread")
    df.loc[ct, "variant"] = df.loc[ct, "variant"] + CURRENT_THREAD
    df["config"] = ""
    for _, idx in df.groupby(["workload", "shape"]).groups.items():
        dicts = kv.loc[idx]
        keys = sorted({k for d in dicts for k in d} - POLICY_KEYS)
        varying = [k for k in keys if len({d.get(k) for d in dicts}) > 1]
        df.loc[idx, "config"] = dicts.map(
            lambda d: ";".join(f"{k}={d.get(k, '')}" for k in varying))
    return df


def without_flavor(name):
    """The variant without its current_thread mark."""
    return name[:-len(CURRENT_THREAD)] if name.endswith(CURRENT_THREAD) else name


def base_variant(name):
    """The variant without its current_thread mark and its I/O backend mark: the queue (and
    stealing policy) alone, "ring" for "ring+uring (current_thread)"."""
    return without_flavor(name).split(IO_MARK, 1)[0]


def io_of(name):
    """The I/O backend a variant label names: "uring" for "ring+uring (current_thread)",
    DEFAULT_IO for an unmarked one (a peer's too)."""
    rest = without_flavor(name).split(IO_MARK, 1)
    return rest[1] if len(rest) == 2 else DEFAULT_IO


def is_peer(name):
    """True for a peer's row (current_thread mark or not), False for a Weft variant's."""
    return base_variant(name) in PEERS


def add_machine(df):
    """Adds `machine` ("host (cpu_model, N cores)") where the rows come from more than one
    machine; leaves `df` as it is otherwise."""
    label = (df["host"].astype(str) + " (" + df["cpu_model"].astype(str) + ", "
             + df["cpus"].astype(str) + " cores)")
    if label.nunique() > 1:
        df["machine"] = label
    return df


def machine_keys(df):
    """["machine"] where `df` holds rows of several machines (add_machine), else []."""
    return ["machine"] if "machine" in df.columns else []


def load(paths):
    """Load and validate one or more CSVs, returning one concatenated DataFrame."""
    if not paths:
        raise CsvError("no CSV file given")
    return add_machine(add_config(pd.concat([_load_one(p) for p in paths], ignore_index=True)))


def throughput_metric(df, preferred=None):
    """Throughput metric to use for `df` (one workload), or None if absent.

    `preferred` (e.g. from --metric) wins if it is present at all."""
    present = set(df["metric"].unique())
    if preferred is not None:
        return preferred if preferred in present else None
    return next((m for m in THROUGHPUT_METRICS if m in present), None)


def higher_is_better(metric):
    """Throughputs (x_per_s) are better high; times, latencies and counts are better low."""
    return metric in THROUGHPUT_METRICS or metric.endswith("_per_s")


def one_or_mixed(series):
    """The single distinct (non-empty) value of `series` as text, else 'mixed'."""
    vals = sorted({str(v) for v in series.dropna() if str(v) != ""})
    if not vals:
        return "?"
    return vals[0] if len(vals) == 1 else "mixed"


def rep_stats(df, metric):
    """median/min/max of `metric` over reps, one row per GROUP_KEYS tuple (and machine, where
    `df` has several: machine_keys).

    Reps of several runs with the same key are pooled together."""
    sub = df[df["metric"] == metric]
    g = sub.groupby(GROUP_KEYS + machine_keys(df), sort=True)["value"]
    out = g.agg(median="median", min="min", max="max", n="count").reset_index()
    return out


def die(prog, msg, code=2):
    """Print `prog: error: msg` on stderr and exit (2 = bad input/usage)."""
    print(f"{prog}: error: {msg}", file=sys.stderr)
    sys.exit(code)


def load_or_die(prog, paths):
    try:
        return load(paths)
    except CsvError as e:
        die(prog, str(e))
