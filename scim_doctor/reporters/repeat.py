"""A `--repeat` series presented: the text table and the JSON report's `repeat` object."""

from __future__ import annotations

from typing import Any

from scim_doctor.core.repeat import RepeatStats


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def render_text(stats: RepeatStats) -> str:
    """The series as a table per check, then latencies per phase, then the address verdict."""
    runs = stats.runs
    lines = [
        f"Repeated {runs} of {stats.requested} runs, {stats.interval_s:g} s apart"
        + (f" ({stats.stopped})" if stats.stopped else "")
        + f"; {stats.problem_runs()} run(s) with a problem at or above {stats.fail_on.value}.",
        "",
        f"  {'check':<12} {'ran':>4} {'fail':>10} {'warn':>10}  codes",
    ]
    for check in stats.checks:
        if not check.runs:
            continue
        codes = ", ".join(f"{code} ×{n}" for code, n in check.codes.items()) or "-"
        lines.append(
            f"  {check.id:<12} {check.runs:>4} "
            f"{f'{check.failed} ({_pct(check.failed, check.runs)})':>10} "
            f"{f'{check.warned} ({_pct(check.warned, check.runs)})':>10}  {codes}"
        )
    timed = [(check, phase) for check in stats.checks for phase in check.phases]
    if timed:
        lines += ["", f"  {'latency':<24} {'n':>4} {'p50':>9} {'p95':>9} {'max':>9}"]
        for check, phase in timed:
            lines.append(
                f"  {f'{check.id}.{phase.phase}':<24} {phase.samples:>4} "
                f"{phase.p50_ms:>6.1f} ms {phase.p95_ms:>6.1f} ms {phase.max_ms:>6.1f} ms"
            )
    lines += ["", f"Addresses: {stats.correlation}."]
    for address in stats.addresses:
        lines.append(
            f"  {address.address:<40} {address.runs:>4} runs, {address.problem_runs} with a "
            f"problem; {address.failed_attempts}/{address.attempts} attempts failed"
        )
    return "\n".join(lines) + "\n"


def to_dict(stats: RepeatStats) -> dict[str, Any]:
    """The `repeat` object of a JSON report (schema version 2)."""
    return {
        "runs": stats.runs,
        "requested": stats.requested,
        "interval_s": stats.interval_s,
        "stopped": stats.stopped,
        "problem_runs": stats.problem_runs(),
        "shown_run": stats.shown_index + 1,
        "checks": [
            {
                "id": check.id,
                "runs": check.runs,
                "counts": dict(check.counts),
                "fail_rate": round(check.fail_rate, 4),
                "warn_rate": round(check.warn_rate, 4),
                "codes": dict(check.codes),
                "timings_ms": {
                    phase.phase: {
                        "samples": phase.samples,
                        "p50": phase.p50_ms,
                        "p95": phase.p95_ms,
                        "max": phase.max_ms,
                    }
                    for phase in check.phases
                },
            }
            for check in stats.checks
        ],
        "addresses": [
            {
                "address": a.address,
                "runs": a.runs,
                "problem_runs": a.problem_runs,
                "attempts": a.attempts,
                "failed_attempts": a.failed_attempts,
            }
            for a in stats.addresses
        ],
        "correlation": stats.correlation,
        "correlated_address": stats.correlated_address,
    }
