"""Tests for scripts/analysis.py and scripts/gate_view.py on a synthetic results tree.

    /usr/bin/python3 -m pytest -q tests/scripts
"""
import math
import os
import sys

import pytest

import synthetic_results as synth

sys.path.insert(0, os.path.join(synth.ROOT, "scripts"))
import analysis  # noqa: E402
import gate_view  # noqa: E402


@pytest.fixture
def tree(tmp_path):
    return tmp_path, synth.make_tree(str(tmp_path))


def test_results_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("WEFT_RESULTS", raising=False)
    assert analysis.results_dir("/repo") == os.path.join("/repo", "results")
    monkeypatch.setenv("WEFT_RESULTS", "elsewhere")
    assert analysis.results_dir("/repo") == os.path.join("/repo", "elsewhere")
    monkeypatch.setenv("WEFT_RESULTS", str(tmp_path))
    assert analysis.results_dir("/repo") == str(tmp_path)


def test_list_runs_kinds_and_order(tree):
    root, paths = tree
    synth.write_csv(os.path.join(root, "runs", "broken.csv"), [["x"]], header=["run_id"])
    runs = analysis.list_runs(str(root))
    by_name = runs.set_index("name")
    assert by_name.loc["zz_complete.csv", "kind"] == "full"
    assert bool(by_name.loc["zz_complete.csv", "complete"])
    assert by_name.loc["aa_spawn_only.csv", "kind"] == "full"
    assert not by_name.loc["aa_spawn_only.csv", "complete"]
    assert by_name.loc["bb_echo_only.csv", "kind"] == "partial"
    assert by_name.loc["micro_new.csv", "kind"] == "micro"
    assert by_name.loc["broken.csv", "kind"] == "unreadable"
    assert "missing required column" in by_name.loc["broken.csv", "error"]
    # newest first by the timestamps inside, not by name; unreadable last
    assert list(runs["name"]) == ["micro_new.csv", "bb_echo_only.csv", "aa_spawn_only.csv",
                                  "zz_complete.csv", "micro_old.csv", "broken.csv"]
    assert by_name.loc["zz_complete.csv", "git_sha"] == synth.COMPLETE_SHA


def test_newest_full_run_prefers_complete(tree):
    root, paths = tree
    runs = analysis.list_runs(str(root))
    assert analysis.newest_full_run(runs) == paths["complete"]
    # without a complete run: the newest run with spawn_storm
    os.remove(paths["complete"])
    assert analysis.newest_full_run(analysis.list_runs(str(root))) == paths["spawn_only"]
    # two complete runs: the newer by timestamp, whatever their names
    newer = synth.write_csv(os.path.join(root, "runs", "a_newer_complete.csv"),
                            synth.rows({"spawn_storm", "echo", "timer_churn"},
                                       "2024-02-01T00:00:00Z", "123456789abc"))
    synth.write_csv(paths["complete"], synth.rows({"spawn_storm", "echo", "timer_churn"},
                                                  "2024-01-01T10:00:00Z", synth.COMPLETE_SHA))
    assert analysis.newest_full_run(analysis.list_runs(str(root))) == newer


def test_no_runs(tmp_path):
    runs = analysis.list_runs(str(tmp_path))
    assert runs.empty
    assert analysis.newest_full_run(runs) is None
    assert analysis.latest_micro(runs) is None
    assert analysis.gate_inputs(runs) == []


def test_latest_micro_takes_each_benchmark_from_its_newest_run(tree):
    root, paths = tree
    micro = analysis.latest_micro(analysis.list_runs(str(root)))
    src = micro.groupby("shape")["source"].agg(set).to_dict()
    assert src == {"push_pop": {paths["micro_old"]}, "steal": {paths["micro_new"]}}


def test_gate_inputs_adds_newest_run_of_missing_workloads(tree):
    root, paths = tree
    runs = analysis.list_runs(str(root))
    assert analysis.gate_inputs(runs) == [paths["complete"]]
    os.remove(paths["complete"])
    runs = analysis.list_runs(str(root))
    assert analysis.gate_inputs(runs) == [paths["spawn_only"], paths["echo_only"]]


def test_machine(tree):
    root, paths = tree
    m = analysis.machine(analysis.load_run(paths["complete"]))
    assert (m["host"], m["cpu_model"], m["cpus"], m["compiler"], m["git_sha"]) == (
        synth.HOST, synth.CPU, "2", synth.COMPILER, synth.COMPLETE_SHA)


def test_main_metric(tree):
    root, paths = tree
    df = analysis.load_run(paths["complete"])
    want = {("spawn_storm", "flat"): "tasks_per_s", ("echo", "closed"): "msgs_per_s",
            ("echo", "open"): "latency_p99_us", ("timer_churn", "cancel"): "pairs_per_s",
            ("timer_churn", "million"): "insert_ns_per_timer",
            ("timer_churn", "accuracy"): "lateness_p99_us"}
    for (w, s), m in want.items():
        assert analysis.main_metric(df[(df["workload"] == w) & (df["shape"] == s)]) == m


def test_rankings_orient_by_metric(tree):
    root, paths = tree
    ranks = analysis.rankings(analysis.load_run(paths["complete"]))
    # chase_lev is twice as good on every main metric, throughput or latency
    chase = ranks[ranks["variant"].str.startswith("chase_lev")]
    mutex = ranks[ranks["variant"].str.startswith("mutex")]
    assert chase["score"].tolist() == pytest.approx([2.0] * len(chase))
    cell = ["workload", "shape", "config", "threads"]
    best = ranks[ranks["rank"] == 1].groupby(cell)["variant"].agg(list)
    assert len(best) == ranks.groupby(cell).ngroups
    assert all(len(v) == 1 and v[0].startswith("chase_lev") for v in best)
    assert mutex["score"].tolist() == pytest.approx([1.0] * len(mutex))
    lat = ranks[(ranks["shape"] == "open") & (ranks["variant"] == "chase_lev")]
    assert lat["vs_ref"].tolist() == pytest.approx([0.5] * len(lat))
    tput = ranks[(ranks["shape"] == "flat") & (ranks["variant"] == "chase_lev")]
    assert tput["vs_ref"].tolist() == pytest.approx([2.0, 2.0])
    # medians over reps: rep 2 is the base value
    row = ranks[(ranks["shape"] == "flat") & (ranks["variant"] == "mutex")
                & (ranks["threads"] == 2)].iloc[0]
    assert row["median"] == pytest.approx(2e6)
    # current_thread variants are ranked against mutex of the same flavor
    ct = ranks[ranks["variant"] == "chase_lev (current_thread)"]
    assert set(ct["reference"]) == {"mutex (current_thread)"}
    assert len(ct) == 2


def test_ranking_summary_and_pivot(tree):
    root, paths = tree
    ranks = analysis.rankings(analysis.load_run(paths["complete"]))
    summary = analysis.ranking_summary(ranks)
    spawn = summary[summary["workload"] == "spawn_storm"]
    assert list(spawn["variant"]) == ["chase_lev", "mutex"]
    assert spawn["score"].tolist() == pytest.approx([2.0, 1.0])
    assert list(spawn["n"]) == [4, 4]  # flat and tree at 1 and 2 threads
    assert list(spawn["best"]) == [4, 0]
    pivot = analysis.ranking_pivot(ranks, "timer_churn")
    assert list(pivot.index) == ["chase_lev", "mutex"]
    assert "accuracy t=1" in pivot.columns and len(pivot.columns) == 6
    assert pivot.loc["chase_lev"].tolist() == pytest.approx([2.0] * 6)


def test_rankings_without_reference(tree):
    root, paths = tree
    df = analysis.load_run(paths["complete"])
    ranks = analysis.rankings(df[~df["variant"].str.startswith("mutex")])
    assert ranks["score"].isna().all()
    assert math.isnan(analysis.ranking_summary(ranks)["score"].iloc[0])


def test_percentiles_and_views(tree):
    root, paths = tree
    df = analysis.load_run(paths["complete"])
    table = analysis.percentile_table(
        analysis.percentiles(df, "echo", "open", analysis.ECHO_LATENCY, "rate"))
    assert list(table.columns) == sorted(analysis.ECHO_LATENCY)
    assert table.loc[("mutex", 2, 1000), "latency_p99_us"] == pytest.approx(400.0 / 2)
    assert table.loc[("chase_lev", 2, 2000), "latency_p50_us"] == pytest.approx(100.0 / 4)
    views = analysis.latency_views(df, str(root / "figs"))
    assert [v[0].split(":")[0] for v in views] == ["echo closed loop", "echo open loop",
                                                   "timer_churn accuracy"]
    for _, _, png in views:
        with open(png, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    spawn_only = df[df["workload"] == "spawn_storm"]
    assert analysis.latency_views(spawn_only, str(root / "figs")) == []


def test_thresholds_tables(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('version = 2\n' + synth.THRESHOLDS + '[defaults]\nreps = 15\n'
                    + '[[extra]]\nname = "a"\n')
    tables = dict(gate_view.thresholds_tables(str(path)))
    assert list(tables) == ["settings", "rules: ratio", "defaults", "extra"]
    rules = tables["rules: ratio"]
    assert rules["name"].tolist() == ["flat-speedup"]
    assert rules["where.shape"].tolist() == ["flat"] and rules["floor"].tolist() == [1.0]
    assert tables["defaults"].values.tolist() == [["reps", 15]]
    assert tables["settings"].values.tolist() == [["version", "2"]]


def test_instructions_and_baseline(tree):
    root, paths = tree
    ins = gate_view.read_instructions(str(root))
    same, table = gate_view.split_constant(ins)
    assert same["workload"] == "icount" and list(table.columns) == ["variant"]
    assert gate_view.read_instructions(str(root / "nowhere")) is None
    base, notes = gate_view.tidy_baselines(str(root))
    assert notes == [] and set(base["workload"]) == {"spawn_storm", "icount"}
    cmp = gate_view.compare_to_baseline(analysis.load_run(paths["complete"]), base)
    assert set(cmp["workload"]) == {"spawn_storm"} and len(cmp) == 8
    assert cmp["change"].tolist() == pytest.approx([2.0] * 8)  # baseline at half the speed
    summary = gate_view.baseline_summary(cmp)
    assert summary["score"].tolist() == pytest.approx([2.0, 2.0])


FAKE_OK = '''
def evaluate(thresholds_path, csv_paths, baseline_dir):
    return [{"rule": "r1", "kind": "ratio", "value": 1.5, "bound": 1.0, "verdict": "PASS",
             "detail": ";".join(csv_paths) + "|" + thresholds_path + "|" + baseline_dir}]
'''


@pytest.mark.parametrize("source,why", [
    (None, "does not exist"),
    ("x = 1\n", "no evaluate"),
    ("def evaluate(a, b, c):\n    raise ValueError('boom')\n", "ValueError: boom"),
    ("import sys\ndef evaluate(a, b, c):\n    sys.exit(2)\n", "SystemExit"),
    ("def evaluate(a, b, c):\n    return 'PASS'\n", "not a list of dicts"),
    ("raise RuntimeError('at import')\n", "RuntimeError: at import"),
])
def test_verdicts_failures_are_reasons(tmp_path, source, why):
    if source is not None:
        (tmp_path / "check_regression.py").write_text(source)
    table, reason = gate_view.verdicts("t.toml", ["a.csv"], "base", scripts_dir=str(tmp_path))
    assert table is None and why in reason


def test_verdicts_table(tmp_path):
    (tmp_path / "check_regression.py").write_text(FAKE_OK)
    table, reason = gate_view.verdicts("t.toml", ["a.csv", "b.csv"], "base",
                                       scripts_dir=str(tmp_path))
    assert reason == ""
    assert list(table.columns) == gate_view.VERDICT_COLUMNS
    assert table.iloc[0]["verdict"] == "PASS"
    assert table.iloc[0]["detail"] == "a.csv;b.csv|t.toml|base"
