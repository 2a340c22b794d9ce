"""Did a run have the machine? The qualification of reps for gate rules with `needs_cores`.

weft-bench writes two rows beside every Weft measurement (harness/bench/machine_load.hpp), over
the rep of its shape: `cpu_share`, the CPU time the process got over the wall time (1.9: two
busy cores), and `other_load`, the CPU time every other process got, in cores (/proc/stat's
busy time of all CPUs minus the process's own). A scaling rule measured while a neighbour held
a core is no evidence either way, so a rule that states `needs_cores = N` judges only the reps
that had them. A row qualifies when

    other_load <= cpus - N + SLACK            (the others left N cores free, give or take)
    cpu_share + other_load <= cpus + SLACK    (the two add up to no more than the machine:
                                               a sample that does not is broken, not evidence)

with `cpus` the row's own column (the machine's online cores) and SLACK half a core (a clock
tick of /proc/stat per CPU over a short window, a daemon waking). A rep (run_id, rep) qualifies
when every row of it that the rule reads does. A row without the load rows (a CSV from before
them, a peer, another platform) qualifies: old baselines keep working.
"""
import pandas as pd

LOAD_METRICS = ("cpu_share", "other_load")
SLACK = 0.5
ROW_KEY = ["run_id", "variant", "workload", "shape", "threads", "params", "rep"]
REP_KEY = ["run_id", "rep"]


def load_rows(df):
    """The load figures of df's measurements: ROW_KEY columns, cpu_share and other_load (NaN
    where a measurement lacks one)."""
    rows = df[df["metric"].isin(LOAD_METRICS)]
    table = rows.pivot_table(index=ROW_KEY, columns="metric", values="value", aggfunc="max")
    return table.reindex(columns=list(LOAD_METRICS)).reset_index()


def allowed_other_load(cpus, needs_cores):
    return cpus - needs_cores + SLACK


def qualifying(rows, loads, needs_cores):
    """rows (a rule's num and den rows) with, per row, its load and whether it qualifies."""
    out = rows.merge(loads, on=ROW_KEY, how="left") if not loads.empty else rows.assign(
        cpu_share=float("nan"), other_load=float("nan"))
    cpus = out["cpus"].astype(float)
    other, share = out["other_load"], out["cpu_share"]
    fits = other <= allowed_other_load(cpus, needs_cores)
    adds_up = share.isna() | (share + other <= cpus + SLACK)
    return out.assign(qualifies=other.isna() | (fits & adds_up))


def qualifying_reps(num, den, loads, needs_cores):
    """(the (run_id, rep) pairs where every num and den row qualifies, a one-line account of
    the load seen over all reps)."""
    both = qualifying(pd.concat([num, den], ignore_index=True), loads, needs_cores)
    per_rep = both.groupby(REP_KEY).agg(qualifies=("qualifies", "all"),
                                        other_load=("other_load", "max"),
                                        cpu_share=("cpu_share", "min"), cpus=("cpus", "max"))
    good = set(per_rep.index[per_rep["qualifies"]])
    return good, _account(per_rep, needs_cores, len(good))


def _span(series):
    s = series.dropna()
    if s.empty:
        return "not recorded"
    return f"{s.min():.2f}" if s.min() == s.max() else f"{s.min():.2f}-{s.max():.2f}"


def _account(per_rep, needs_cores, good):
    cpus = float(per_rep["cpus"].astype(float).max())
    return (f"{good} of {len(per_rep)} reps had {needs_cores} of {cpus:g} cores "
            f"(other_load {_span(per_rep['other_load'])} cores, allowed <= "
            f"{allowed_other_load(cpus, needs_cores):g}; cpu_share {_span(per_rep['cpu_share'])})")
