"""Figures of a sheet's maps, drawn the way the literature shows them: ocular dominance
as an autoradiograph (the contralateral eye's label white: Hubel, Wiesel & LeVay 1977),
orientation preference in the colour wheel with pinwheels marked (Bonhoeffer & Grinvald
1991), and both over age."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, hsv_to_rgb
from matplotlib.figure import Figure

from devsim import maps
from devsim.plots import figure, shown

COLUMNS = 4  # organisms drawn per group
MAX_GROUPS = 6


def contra_label(odi: np.ndarray, span: float = 1.0) -> np.ndarray:
    """What a tracer injected into the contralateral eye labels: ``(1 + ODI / span) / 2``,
    clipped to [0, 1] (unresponsive units grey). ``span`` < 1 stretches the contrast, as
    autoradiographs are printed (``od_span``)."""
    return np.clip(np.nan_to_num((1.0 + odi / span) / 2.0, nan=0.5), 0.0, 1.0)


def od_span(maps_: list[np.ndarray]) -> float:
    """The contrast stretch shared by OD maps drawn together: the 98th percentile of
    |ODI| over all of them (at least 0.05, at most 1)."""
    values = np.concatenate([np.abs(m[np.isfinite(m)]).ravel() for m in maps_] or [[1.0]])
    return float(np.clip(np.percentile(values, 98) if values.size else 1.0, 0.05, 1.0))


def selectivity_top(maps_: list[np.ndarray]) -> float:
    """The selectivity drawn at full brightness in orientation maps drawn together: the
    95th percentile of ``|z|`` over all of them (0 if there is none)."""
    values = np.concatenate([np.abs(m).ravel() for m in maps_] or [np.zeros(0)])
    return float(np.percentile(values, 95)) if values.size else 0.0


def orientation_rgb(z: np.ndarray, top: float | None = None) -> np.ndarray:
    """An orientation map as colour: hue = the orientation of the preferred grating's bars,
    counterclockwise from horizontal as the map is drawn (rows down), 0-180 degrees around
    the wheel; brightness = selectivity, full at ``top`` (:func:`selectivity_top` of the
    maps drawn with it; default this map's own)."""
    # z's angle is twice the grating's wave-vector direction theta (sheet.grating_parts),
    # clockwise on screen; its bars lie at 90 - theta: twice that is the angle of -conj(z)
    hue = (np.angle(-np.conj(z)) % (2 * np.pi)) / (2 * np.pi)
    strength = np.abs(z)
    top = selectivity_top([z]) if top is None else top
    value = np.clip(strength / top, 0, 1) if top > 0 else np.zeros_like(strength)
    return hsv_to_rgb(np.stack([hue, np.ones_like(hue), value], axis=-1))


def draw_od(ax, odi: np.ndarray, title: str = "", span: float = 1.0) -> None:
    """An OD map as imaging records it (:func:`devsim.maps.as_imaged`), printed like an
    autoradiograph:
    the contralateral eye's territory white, contrast stretched to ``span``."""
    seen = contra_label(maps.as_imaged(odi), span)
    ax.imshow(seen, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def draw_orientation(
    ax, z: np.ndarray, title: str = "", pinwheels: bool = True, top: float | None = None
) -> None:
    """The map as optical imaging records it (:func:`devsim.maps.imaged`), on which the
    pinwheels are counted (circled); full brightness at selectivity ``top``."""
    seen = maps.as_imaged(z)
    ax.imshow(orientation_rgb(seen, top), interpolation="nearest")
    if pinwheels:
        where = maps.pinwheel_positions(seen)
        if len(where):
            ax.plot(where[:, 1], where[:, 0], "o", ms=3, mfc="none", mec="white", mew=0.8)
    ax.set_xlim(-0.5, z.shape[1] - 0.5)
    ax.set_ylim(z.shape[0] - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def od_key(fig, axes, span: float) -> None:
    """The OD grey scale beside ``axes``: ODI from -``span`` (ipsilateral eye, black) to
    +``span`` (contralateral, white); beyond ``span`` the grey saturates."""
    bar = fig.colorbar(
        ScalarMappable(Normalize(-span, span), "gray"), ax=axes, shrink=0.8, aspect=15,
        ticks=[-span, 0, span],
    )  # fmt: skip
    bar.ax.set_yticklabels([f"ipsi\n−{span:.2f}", "0", f"contra\n+{span:.2f}"], fontsize=7)
    bar.set_label("ODI", fontsize=7)


def orientation_key(fig, axes) -> None:
    """The colour wheel beside ``axes``: hue = the preferred bars' orientation, 0-180
    degrees counterclockwise from horizontal (:func:`orientation_rgb`)."""
    bar = fig.colorbar(
        ScalarMappable(Normalize(0, 180), "hsv"), ax=axes, shrink=0.8, aspect=15,
        ticks=[0, 45, 90, 135, 180],
    )  # fmt: skip
    bar.ax.tick_params(labelsize=7)
    bar.set_label("preferred orientation (°)", fontsize=7)


def _groups(record: dict) -> tuple[list[tuple[str, np.ndarray]], bool]:
    """The groups drawn (up to :data:`MAX_GROUPS`, each with up to :data:`COLUMNS`
    members), and whether any group or animal is left out."""
    names = list(dict.fromkeys(record["group"]))
    groups = np.asarray(record["group"])
    members = [(name, np.flatnonzero(groups == name)) for name in names]
    left_out = len(names) > MAX_GROUPS or any(len(m) > COLUMNS for _, m in members)
    return [(name, m[:COLUMNS]) for name, m in members[:MAX_GROUPS]], left_out


def _group_grid(record: dict, path: Path | str | None, title: str, group, key=None) -> Figure:
    """One row per group, up to :data:`COLUMNS` littermates each: ``group(name, members)``
    returns how to draw one of them, ``draw(ax, c, k)`` for the ``c``-th, organism ``k``,
    and that row's key, ``row_key(fig, axes)`` (or None); ``key(fig, axes)`` draws one key
    for the whole figure."""
    rows, left_out = _groups(record)
    columns = min(COLUMNS, max(len(members) for _, members in rows))  # no empty columns
    if left_out:
        groups = len(set(record["group"]))
        title += f" (the first {len(rows)} of {groups} groups, up to {COLUMNS} animals each)"
    width = 2.1 * max(columns, 2) + 0.9  # and the key
    title = textwrap.fill(title, int(width * 11))  # ~11 characters an inch at 10 pt
    lines = title.count("\n") + 1
    # a Figure of its own, not pyplot's: the lessons page draws it in a server thread
    fig = Figure(figsize=(width, 2.6 * len(rows) + 0.18 * (lines - 1)), layout="constrained")
    axes = fig.subplots(len(rows), columns, squeeze=False)
    for r, (name, members) in enumerate(rows):
        draw, row_key = group(name, members)
        for c in range(columns):
            if c < len(members):
                draw(axes[r, c], c, members[c])
            else:
                axes[r, c].axis("off")
        if row_key is not None:
            row_key(fig, list(axes[r]))
    if key is not None:
        key(fig, list(axes.ravel()))
    fig.suptitle(title, fontsize=10)
    if path is not None:  # a notebook shows the returned figure
        fig.savefig(path, dpi=110)
    return fig


@figure
def od_maps(record: dict, path: Path | str | None = None, label=None) -> Figure:
    """Final OD maps: one row per group, up to :data:`COLUMNS` littermates each; a group
    is named ``label(name)`` when given (the pages' display names)."""

    # one grey scale for every panel: a deprived eye's territory is compared with the
    # controls' (each group had its own stretch, so equal greys meant different ODIs)
    drawn = [k for _, members in _groups(record)[0] for k in members]
    span = od_span([maps.as_imaged(record["od"][k]) for k in drawn])

    def group(name, members):
        name = label(name) if label else name

        def draw(ax, c, k):
            odi = record["od"][k]
            spacing, peak = maps.wavelength(odi)
            share = maps.eye_share(odi, "left")
            title = f"{name} #{c}: contra {shown(share, '.0%')}\n"
            title += f"Λ {shown(spacing, '.1f')}, ring ×{shown(peak, '.1f')}"
            draw_od(ax, odi, title, span)

        return draw, None

    title = (
        "Ocular dominance as imaging sees it: the contralateral eye's territory white, the "
        f"ipsilateral's black (grey scale ±{span:.2f} ODI, the same in every panel). contra: "
        "the contralateral eye's share; Λ: column spacing in units; ring: how far the "
        "spacing stands out of the map's spectrum (about 2 or more: columns)"
    )
    return _group_grid(record, path, title, group, key=lambda fig, axes: od_key(fig, axes, span))


@figure
def orientation_maps(record: dict, path: Path | str | None = None, label=None) -> Figure:
    """Final orientation maps in the colour wheel, pinwheels circled; a group is named
    ``label(name)`` when given."""

    # one brightness for every panel, as the OD maps share one grey scale: a weakly tuned
    # group's map was stretched to its own 95th percentile and looked as selective
    drawn = [k for _, members in _groups(record)[0] for k in members]
    top = selectivity_top([maps.as_imaged(record["orientation"][k]) for k in drawn])

    def group(name, members):
        name = label(name) if label else name

        def draw(ax, c, k):
            z = record["orientation"][k]
            density, _, count = maps.pinwheel_density(z)
            per = f"{shown(density, '.2f')} per Λ²"
            draw_orientation(ax, z, f"{name} #{c}: {count} pinwheels\n{per}", top=top)

        return draw, None

    title = (
        "Orientation preference as imaging sees it (hue: the preferred bars, 0° horizontal, "
        "90° vertical; brightness = selectivity, the same scale in every panel)"
    )
    return _group_grid(record, path, title, group, key=orientation_key)


@figure
def map_development(
    record: dict, path: Path | str | None = None, organism: int = 0, ages: int = 6, label=None
) -> Figure:
    """One organism's OD and orientation maps at ``ages`` evenly spaced ages; its group is
    named ``label(name)`` when given."""
    history_od, history_z = record["od_history"], record["history"]
    days = history_z.shape[0]
    picks = np.unique(np.linspace(days // ages, days - 1, ages).astype(int))
    # not pyplot's (see _group_grid)
    fig = Figure(figsize=(2.0 * len(picks) + 1.0, 4.3), layout="constrained")
    axes = fig.subplots(2, len(picks), squeeze=False)
    span = od_span([maps.as_imaged(history_od[day, organism]) for day in picks])
    top = selectivity_top([maps.as_imaged(history_z[day, organism]) for day in picks])
    for c, day in enumerate(picks):
        draw_od(axes[0, c], history_od[day, organism], f"P{day}", span)
        draw_orientation(axes[1, c], history_z[day, organism], pinwheels=False, top=top)
    od_key(fig, list(axes[0]), span)
    orientation_key(fig, list(axes[1]))
    name = label(record["group"][organism]) if label else record["group"][organism]
    fig.suptitle(f"Maps over age: {name} #{record['litter'][organism]}", fontsize=10)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


@figure
def map_figures(record: dict, folder: Path) -> list[Path]:
    """All map figures of a run into ``folder``; their paths."""
    paths = [folder / "od_maps.png", folder / "orientation_maps.png"]
    od_maps(record, paths[0])
    orientation_maps(record, paths[1])
    paths.append(folder / "map_development.png")
    map_development(record, paths[2])
    return paths
