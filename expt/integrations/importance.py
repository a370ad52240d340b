"""Feature importance of a LightGBM model as a JSON artifact and a PNG bar chart.

The chart is drawn on a bare ``matplotlib.figure.Figure`` with the Agg canvas: no pyplot, no
global backend switch, no display needed.
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from . import require, resolve_run

IMPORTANCE_TYPES = ("split", "gain")


def importance_record(booster: Any) -> dict:
    """Split and gain importance per feature, as ``booster.feature_importance()`` gives them."""
    record: dict[str, Any] = {"feature_names": list(booster.feature_name())}
    for kind in IMPORTANCE_TYPES:
        values = booster.feature_importance(importance_type=kind)
        record[kind] = [int(v) if kind == "split" else float(v) for v in values.tolist()]
    best = int(getattr(booster, "best_iteration", 0) or 0)
    # feature_importance() counts the trees up to best_iteration when it is set
    record["iteration"] = best if best > 0 else None
    return record


def plot_importance(record: dict, path: str | os.PathLike, *, top: int = 20) -> None:
    """Write a PNG with the `top` features by gain and by split count, side by side."""
    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = record["feature_names"]
    count = min(top, len(names))
    height = max(2.5, 0.3 * count + 1.0)
    # fixed margins sized for the longest label: a layout engine costs 4x the drawing
    label = min(max((len(n) for n in names), default=1), 40) * 0.075 + 0.2
    fig = Figure(figsize=(2 * label + 8, height))
    fig.subplots_adjust(left=label / (2 * label + 8), right=0.98, wspace=label / 4 + 0.1,
                        top=1 - 0.45 / height, bottom=0.5 / height)
    FigureCanvasAgg(fig)
    for axis, kind in zip(fig.subplots(1, 2), ("gain", "split")):
        values = record[kind]
        order = sorted(range(len(names)), key=lambda i: values[i], reverse=True)[:count]
        order.reverse()  # barh draws bottom-up: the largest on top
        axis.barh(range(len(order)), [values[i] for i in order], color="#4c72b0")
        # labels as plain texts: a tick per feature costs several times more to draw
        axis.set_yticks([])
        axis.set_ylim(-0.6, count - 0.4)
        transform = axis.get_yaxis_transform()  # x in axes fraction, y in data
        for row, i in enumerate(order):
            axis.text(-0.01, row, names[i][:40], transform=transform, ha="right",
                      va="center", fontsize=8)
        axis.set_title(f"Feature importance ({kind})")
    fig.savefig(os.fspath(path), format="png", dpi=100)


def log_importance(model: Any, run: Any = None, *, name: str = "feature_importance",
                   top: int = 20, plot: bool = True) -> dict | None:
    """Store `<name>.json` (and `<name>.png`) for a Booster or fitted LightGBM estimator.

    Returns the recorded values, or None when there is no run to record in.
    """
    run = resolve_run(run)
    if run is None:
        return None
    booster = getattr(model, "booster_", model)
    record = importance_record(booster)
    write_importance(record, run, name=name, top=top, plot=plot)
    return record


def write_importance(record: dict, run: Any, *, name: str = "feature_importance",
                     top: int = 20, plot: bool = True) -> None:
    """Store `record` (from :func:`importance_record`) as `<name>.json` and `<name>.png`.

    Reads no booster, so it can run in the background once the record is taken.
    """
    with tempfile.TemporaryDirectory(prefix="expt-lgb-") as tmp:
        json_path = os.path.join(tmp, "importance.json")
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
        run.add_artifact(json_path, f"{name}.json", content_type="application/json")
        if plot and record["feature_names"]:
            png_path = os.path.join(tmp, "importance.png")
            plot_importance(record, png_path, top=top)
            run.add_artifact(png_path, f"{name}.png", content_type="image/png")
