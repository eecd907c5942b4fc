"""The HTML report's timing waterfall: a check's timings as SVG bar geometry (rows, segments,
axis), so the template draws rectangles and never computes a position.

Apart from `html.py` because it is the one part of the page that is geometry rather than
text; it only lays out the timings the probes recorded.
"""

from __future__ import annotations

from collections.abc import Mapping

from msgspec import Struct

from scim_doctor.core.model import CheckResult, Exchange

CHART_WIDTH = 720
LABEL_WIDTH = 250
BAR_WIDTH = 380
ROW_HEIGHT = 22
AXIS_HEIGHT = 22
LABEL_CHARS = 34

PHASE_LABELS = {
    "dns": "DNS lookup",
    "connect": "TCP connect",
    "tls": "TLS handshake",
    "send": "request sent",
    "wait": "waiting for first byte",
    "receive": "reading body",
}
CHECK_PHASES = (("dns", "dns"), ("connect", "connect"), ("tls", "tls"), ("first_byte", "wait"))
"""A check's own timings: per-phase durations, drawn one after the other."""
EXCHANGE_MARKS = (
    ("connect", "connect"),
    ("tls", "tls"),
    ("request_sent", "send"),
    ("first_byte", "wait"),
    ("total", "receive"),
)
"""An exchange's timings: curl-style times since the request started, each ending a phase."""


class Segment(Struct, frozen=True):
    phase: str
    title: str
    x: str
    width: str


class TimingRow(Struct, frozen=True):
    label: str
    full_label: str
    y: int
    text_y: int
    segments: tuple[Segment, ...]
    end_x: str
    end_text: str


class Waterfall(Struct, frozen=True):
    rows: tuple[TimingRow, ...]
    width: int
    height: int
    axis_y: int
    bar_left: int
    bar_right: int
    scale_text: str
    description: str
    phases: tuple[tuple[str, str], ...]
    """(css phase, label) of every phase drawn, for the legend."""


def milliseconds(value: float) -> str:
    """A time as the report prints it everywhere: one decimal, in ms."""
    return f"{value:.1f} ms"


def _spans_from_durations(timings: Mapping[str, float]) -> list[tuple[str, float, float]]:
    spans, at = [], 0.0
    for key, phase in CHECK_PHASES:
        value = timings.get(key)
        if isinstance(value, int | float) and value >= 0:
            spans.append((phase, at, at + value))
            at += value
    return spans


def _spans_from_marks(timings: Mapping[str, float]) -> list[tuple[str, float, float]]:
    spans, at = [], 0.0
    for key, phase in EXCHANGE_MARKS:
        value = timings.get(key)
        if isinstance(value, int | float) and value >= at:
            spans.append((phase, at, float(value)))
            at = float(value)
    return spans


def _shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _exchange_label(exchange: Exchange, limit: int | None = None) -> str:
    """ "GET /scim/v2/Users?count=1 → 200"; with a limit, the path is cut, never the status."""
    _, _, rest = exchange.url.partition("://")
    path = "/" + rest.partition("/")[2] if "/" in rest else exchange.url
    status = exchange.status if exchange.status is not None else "no answer"
    head, tail = f"{exchange.method} ", f" → {status}"
    if limit is not None:
        path = _shorten(path, max(8, limit - len(head) - len(tail)))
    return f"{head}{path}{tail}"


def waterfall(check: CheckResult) -> Waterfall | None:
    """The check's timings as SVG bars: one row per timed exchange, else one for the check.

    Exchange timings are curl-style times since the request started (connect, tls,
    request_sent, first_byte, total), so each ends a phase. A check's own timings are per-phase
    durations (model.CheckResult), drawn one after the other.
    """
    lines: list[tuple[str, str, list[tuple[str, float, float]]]] = []
    for exchange in check.exchanges:
        spans = _spans_from_marks(exchange.timings_ms)
        if spans:
            label = _exchange_label(exchange)
            lines.append((_exchange_label(exchange, LABEL_CHARS), label, spans))
    if not lines:
        spans = _spans_from_durations(check.timings_ms)
        if len(spans) > 1:
            lines.append((check.id, check.id, spans))
    if not lines:
        return None  # one bar says no more than the timings in words
    longest = max(end for _, _, spans in lines for _, _, end in spans) or 1.0
    scale = BAR_WIDTH / longest
    bar_left = LABEL_WIDTH + 8
    rows, described, drawn = [], [], {}
    for index, (short, label, spans) in enumerate(lines):
        y = 4 + index * ROW_HEIGHT
        segments = []
        for phase, start, end in spans:
            drawn[phase] = PHASE_LABELS[phase]
            segments.append(
                Segment(
                    phase=phase,
                    title=f"{PHASE_LABELS[phase]}: {milliseconds(end - start)}",
                    x=f"{bar_left + start * scale:.1f}",
                    width=f"{max(1.0, (end - start) * scale):.1f}",
                )
            )
        end = spans[-1][2]
        rows.append(
            TimingRow(
                label=_shorten(short),
                full_label=label,
                y=y,
                text_y=y + 13,
                segments=tuple(segments),
                end_x=f"{bar_left + max(1.0, end * scale) + 6:.1f}",
                end_text=milliseconds(end),
            )
        )
        parts = ", ".join(f"{PHASE_LABELS[p]} {milliseconds(e - s)}" for p, s, e in spans)
        described.append(f"{label}: {parts}")
    axis_y = 4 + len(lines) * ROW_HEIGHT + 2
    return Waterfall(
        rows=tuple(rows),
        width=CHART_WIDTH,
        height=axis_y + AXIS_HEIGHT,
        axis_y=axis_y,
        bar_left=bar_left,
        bar_right=bar_left + BAR_WIDTH,
        scale_text=milliseconds(longest),
        description="; ".join(described) + ".",
        phases=tuple((p, drawn[p]) for p in PHASE_LABELS if p in drawn),
    )
