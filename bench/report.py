"""The summary of ``python -m bench all`` as a plain-text table."""

from __future__ import annotations

from typing import Any

__all__ = ["cpu_line", "render"]


def _each(summary: dict[str, Any], key: str, spec: str = ",.0f") -> str:
    """Each round's figure after the median, when there was more than one round ("-"
    for a round without it: a ratio whose round did not measure both sides)."""
    rounds = summary["rounds"]
    if len(rounds) < 2:
        return ""
    each = (format(r[key], spec) if key in r else "-" for r in rounds)
    return f" (median of {len(rounds)} rounds: " + " · ".join(each) + ")"


_LABELS = {"worker": "(b)", "ceiling": "(f)", "ceiling_writes": "(f2)", "two_workers": "(g)"}


def _cpu_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Per kind of drain, the CPU each event cost each process (medians of the rounds),
    and the most the machine allows at that cost if nothing else ran: the cores, and
    each process at most one of them (a share summed over n processes uses n)."""
    rows = []
    for kind, shares in summary.get("cpu_us", {}).items():
        total = sum(shares.values())
        each = ", ".join(f"{proc} {us:,.1f}" for proc, us in shares.items())
        counts = summary.get("processes", {}).get(kind, {})
        bounds = [summary["cores"] * 1e6 / total]
        bounds += [n * 1e6 / shares[p] for p, n in counts.items() if n and shares.get(p)]
        rows.append(
            (
                f"{_LABELS[kind]} CPU µs an event",
                f"{each}: {total:,.1f}; at most {min(bounds):,.0f}/s "
                f"({summary['cores']} cores, a process a core)",
            )
        )
    return rows


def render(summary: dict[str, Any]) -> str:
    """Return the summary as a plain-text table (a rate or ratio measured in rounds is
    the rounds' median, each round's figure after it)."""
    lat = summary["latency_ms"]
    rows = [
        ("broker", summary["broker"]),
        ("machine", summary["machine"]),
        (
            "events / dyads / years",
            f"{summary['events']} / {summary['dyads']} / {summary['years']}",
        ),
        ("(a) replay publish", f"{summary['publish_eps']:,} events/s"),
        ("(b) worker, full topic", f"{summary['worker_eps']:,} events/s{_each(summary, 'worker')}"),
        ("(c) raw aiokafka consume", f"{summary['raw_consume_eps']:,} events/s"),
        ("(b)/(c)", f"{summary['ratio']:.4f}"),
        (
            "(f) Faust + decode ceiling",
            f"{summary['ceiling_eps']:,} events/s{_each(summary, 'ceiling')}",
        ),
        ("(b)/(f)", f"{summary['ceiling_ratio']:.3f}{_each(summary, 'ceiling_ratio', '.3f')}"),
        (
            "(f2) … + one table write per dyad/batch",
            f"{summary['ceiling_writes_eps']:,} events/s{_each(summary, 'ceiling_writes')}",
        ),
        (
            "(b)/(f2)",
            f"{summary['ceiling_writes_ratio']:.3f}{_each(summary, 'ceiling_writes_ratio', '.3f')}",
        ),
        (
            "(g) two workers, one group",
            f"{summary['two_workers_eps']:,} events/s, {summary['two_workers_ratio']}x (b)"
            f"{_each(summary, 'two_workers_ratio', '.2f')}"
            if summary["two_workers_eps"]
            else "not measured (--no-scale-out)",
        ),
        (
            "calibration loop at each round",
            " · ".join(f"{r['calibration_ms']:.1f}" for r in summary["rounds"]) + " ms",
        ),
        *_cpu_rows(summary),
        ("worker start to first commit", f"{summary['worker_startup_s']} s"),
        (
            f"(d) latency at {lat['offered_eps']:g}/s",
            f"p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} "
            f"ms ({lat['alerted']}/{lat['sent']} alerted; the first alone {lat['first_ms']} ms; "
            f"{cpu_line(lat)}; latency growth "
            f"{lat['growth_ms_per_s']} ms per s: folded ~{lat['kept_pace_eps']:g}/s)",
        ),
        ("(e) worker peak RSS", f"{summary['peak_rss_mb']} MiB"),
        (
            "(h) broker RSS",
            "not started here"
            if (b := summary["broker_rss_mb"])["before"] is None
            else f"{b['before']} MiB empty, {b['after_worker']} MiB after publish and the first "
            "round's drains",
        ),
        *(
            (
                f"    {g['run']}",
                f"{g['events']} events, {g['dyads']} dyads, {g['years']} y: {g['peak_rss_mb']} MiB",
            )
            for g in summary["growth"]
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def cpu_line(figures: dict[str, Any]) -> str:
    """The shares of a core each process took while the probe offered its load: the
    probe's own, and the worker's, its fold process's and the broker's where measured."""
    shares = {"probe": figures["probe_cpu_pct"], **figures.get("cpu_pct", {})}
    named = ", ".join(f"{name} {pct:g}" for name, pct in shares.items())
    return f"% of a core: {named} (sum {sum(shares.values()):.0f})"
