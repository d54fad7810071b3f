"""The map measures on synthetic maps whose wavelength and pinwheels are known."""

from __future__ import annotations

import numpy as np
import pytest

from devsim import maps
from devsim.senses import torus_gaussian


def ring_field(size: int, k: int, seed: int) -> np.ndarray:
    """A periodic complex Gaussian random field with all its power on the ring of ``k``
    cycles per sheet: an orientation map of wavelength size / k whose pinwheel density
    is pi for a narrow ring (Wolf & Geisel 1998; Kaschube et al. 2010)."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(size, 1.0 / size)
    on_ring = np.abs(np.hypot(f[:, None], f[None, :]) - k) < 0.5
    spectrum = on_ring * (
        rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size))
    )
    return np.fft.ifft2(spectrum)


@pytest.mark.parametrize(("size", "spacing"), [(24, 8), (32, 8), (24, 6), (30, 10)])
def test_stripes_give_their_wavelength_and_a_sharp_ring(size, spacing):
    xx = np.mgrid[0:size, 0:size][1]
    stripes = np.cos(2 * np.pi * xx / spacing)
    found, peak = maps.wavelength(stripes)
    assert found == pytest.approx(spacing, rel=0.05)
    assert peak > 100


def test_salt_and_pepper_has_no_ring():
    peaks = [
        maps.wavelength(np.random.default_rng(s).standard_normal((24, 24)))[1] for s in range(50)
    ]
    assert np.median(peaks) < 1.3
    assert max(peaks) < 2.0


@pytest.mark.parametrize("blur", [1.0, 2.0, 3.0])
def test_a_smooth_map_without_columns_has_no_ring(blur):
    """Blurred noise puts most of its power at the lowest frequencies without a ring (its
    spectrum falls from k = 1): the old measure, power near the strongest ring against all
    other frequencies, scored it 10 to 10**7, above the sheet's column maps."""
    peaks = []
    for seed in range(40):
        noise = np.random.default_rng(seed).standard_normal((32, 32))
        blurred = np.fft.ifft2(np.fft.fft2(noise) * torus_gaussian(blur, 32)).real
        peaks.append(maps.wavelength(blurred)[1])
    assert np.median(peaks) == pytest.approx(1.0)
    assert np.mean(np.array(peaks) >= 2.0) <= 0.1


def test_a_gradient_has_no_ring_but_a_ring_of_columns_has():
    yy, xx = np.mgrid[0:32, 0:32]
    gradient = np.cos(2 * np.pi * xx / 32) + 0.5 * np.sin(2 * np.pi * yy / 32)
    assert maps.wavelength(gradient)[1] == 1.0
    columns = ring_field(32, 4, 0).real  # columns 8 units apart, every direction
    spacing, peak = maps.wavelength(columns)
    assert spacing == pytest.approx(8, rel=0.1)
    assert peak > 10


def test_neighbours_are_alike_in_columns_and_unrelated_in_salt_and_pepper():
    rng = np.random.default_rng(0)
    pepper = np.exp(2j * np.pi * rng.random((32, 32))) * rng.random((32, 32))
    assert abs(maps.neighbour_correlation(pepper)) < 0.05
    # a smooth map without columns (ring peak 1) still has alike neighbours
    smooth = np.exp(2j * np.pi * np.mgrid[0:32, 0:32][1] / 32) * rng.random((32, 32))
    assert maps.wavelength(smooth)[1] == 1.0
    assert maps.neighbour_correlation(smooth) > 0.95  # selectivity does not count
    columns = ring_field(32, 4, 0)
    assert maps.neighbour_correlation(columns) > 0.5
    od = np.where(rng.random((32, 32)) < 0.1, np.nan, np.cos(2 * np.pi * np.arange(32) / 8))
    assert maps.neighbour_correlation(od) == pytest.approx(
        np.cos(2 * np.pi / 8) / 2 + 0.5, abs=0.05
    )
    assert abs(maps.neighbour_correlation(rng.uniform(-1, 1, (32, 32)))) < 0.05
    assert np.isnan(maps.neighbour_correlation(np.full((8, 8), np.nan)))
    assert np.isnan(maps.neighbour_correlation(np.zeros((8, 8), complex)))


def test_pinwheel_density_of_a_ring_spectrum_is_about_pi():
    densities = [maps.pinwheel_density(ring_field(48, 6, s))[0] for s in range(12)]
    assert np.mean(densities) == pytest.approx(np.pi, abs=0.35)
    spacing = maps.pinwheel_density(ring_field(48, 6, 0))[1]
    assert spacing == pytest.approx(8.0, rel=0.05)


def test_pinwheels_are_counted_where_the_orientation_winds():
    # z = sin(x') + i sin(y') on the torus vanishes, and its phase winds once, at the four
    # points where both sines do (charges +1, -1, -1, +1): the plaquette centres below.
    size = 20
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    z = np.sin(2 * np.pi * (xx + 0.5) / size) + 1j * np.sin(2 * np.pi * (yy + 0.5) / size)
    found = {tuple(p) for p in maps.pinwheel_positions(z)}
    assert found == {(9.5, 9.5), (9.5, 19.5), (19.5, 9.5), (19.5, 19.5)}
    assert maps.pinwheels(np.ones((size, size), complex)) == 0


def test_orientation_map_reads_the_preferred_orientation():
    # 8 orientations; unit 0 prefers 45 degrees (index 2), unit 1 responds to none
    tuning = np.zeros((8, 4))
    tuning[:, 0] = np.exp(np.cos(2 * (np.pi * np.arange(8) / 8 - np.pi / 4)))
    z = maps.orientation_map(tuning, 2)
    assert np.angle(z[0, 0]) / 2 == pytest.approx(np.pi / 4)
    assert 0 < abs(z[0, 0]) < 1
    assert z[0, 1] == 0


def test_selectivity_is_read_at_the_frequency_that_drives_the_sheet_most():
    # 2 frequencies x 8 orientations x 3 units: at frequency 0 units 0 and 1 are tuned, unit
    # 2 silent; frequency 1 drives every unit weakly and without tuning
    angles = np.pi * np.arange(8) / 8
    tuned = np.exp(np.cos(2 * (angles - np.pi / 4)))
    tuning = np.full((2, 8, 3), 0.5)
    tuning[0] = 0.0
    tuning[0, :, 0], tuning[0, :, 1] = tuned, 2 * tuned
    at_best = abs(maps.orientation_map(tuned[:, None], 1)[0, 0])
    np.testing.assert_allclose(maps.unit_selectivity(tuning), [at_best, at_best, 0.0])
    louder = tuning.copy()
    louder[1] = 5.0  # now frequency 1 drives the sheet most: no unit is selective there
    np.testing.assert_allclose(maps.unit_selectivity(louder), 0.0, atol=1e-12)
    both = maps.unit_selectivity(np.stack([louder, tuning]))  # two sheets at once
    np.testing.assert_allclose(both, [[0.0, 0.0, 0.0], [at_best, at_best, 0.0]], atol=1e-12)


def test_map_correlation_and_stability():
    z = ring_field(24, 3, 1)
    other = ring_field(24, 3, 2)
    assert maps.map_correlation(z, z) == pytest.approx(1.0)
    assert abs(maps.map_correlation(z, other)) < 0.3
    # a map that grows in strength without changing its layout is perfectly stable
    history = np.array([0.1 * z, 0.5 * z, z]) * 0.5 / np.abs(z).mean()
    assert maps.stability(history) == pytest.approx(1.0)
    # one whose early layout is another map's is not
    assert abs(maps.stability(np.array([0.6 * other, z]))) < 0.3
    # measurable from the first day its selectivity is half the final map's
    assert maps.first_measurable(history) == 1
    assert maps.first_measurable(np.array([0.6 * other, z])) == 0
    assert maps.first_measurable(np.zeros((3, 4, 4), dtype=complex)) is None
    assert np.isnan(maps.stability(np.zeros((3, 4, 4), dtype=complex)))


def test_stability_reads_the_maps_as_imaging_does():
    """Unit-to-unit scatter far below the column spacing, which intrinsic-signal imaging
    cannot resolve, lowers the raw correlation of an early map with the final one but not
    the imaged one's; a layout that really differs stays unstable when imaged."""
    size = 32
    z = ring_field(size, 4, 1)  # columns 8 units apart
    z *= 0.5 / np.abs(z).mean()
    rng = np.random.default_rng(3)
    scatter = (rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size))) * 0.6
    history = np.array([z + scatter, z])
    raw = maps.map_correlation(history[0], history[1])
    assert raw < 0.6
    assert maps.stability(history) > raw + 0.2
    other = ring_field(size, 4, 2)
    other *= 0.5 / np.abs(other).mean()
    assert abs(maps.stability(np.array([other + scatter, z]))) < 0.3


def test_eye_shares_and_monocular_fraction():
    odi = np.array([[0.9, 0.5], [-0.8, np.nan]])
    assert maps.eye_share(odi, "left") == pytest.approx(2 / 3)
    assert maps.eye_share(odi, "right") == pytest.approx(1 / 3)
    assert maps.monocular_fraction(odi) == pytest.approx(2 / 3)
    # on the class edges as the OD classes bin them: -0.75 is class 7, 0.75 class 2
    assert maps.monocular_fraction(np.array([-0.75, 0.75])) == 0.5


def test_unit_scatter_below_imaging_resolution_adds_no_pinwheels():
    """Scatter from unit to unit (salt and pepper on top of a map) adds pinwheel pairs to
    the raw map; counted as imaging sees it, the density stays about pi."""
    rng = np.random.default_rng(5)
    densities, raw = [], []
    for seed in range(8):
        z = ring_field(48, 6, seed)
        z = z / np.abs(z).mean()
        noisy = z + 0.35 * (rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape))
        densities.append(maps.pinwheel_density(noisy)[0])
        raw.append(maps.pinwheels(noisy) * 8.0**2 / 48**2)
    assert np.mean(raw) > 4.0
    assert np.mean(densities) == pytest.approx(np.pi, abs=0.5)


def test_od_maps_have_no_empty_columns_name_groups_as_given_and_keys(tmp_path, monkeypatch):
    """One kitten per group (a lesson's quick run) fills its row (three quarters of the
    figure were blank), the pages name groups as they read them, and the figures say what
    their grey and their colours mean."""
    from matplotlib.figure import Figure

    from devsim.model import DevelopmentModel
    from devsim.plots.maps import od_maps, orientation_maps
    from devsim.scenario import Scenario

    scenario = Scenario.model_validate(
        {"name": "s", "species": "cat", "days": 3, "cortex": "sheet", "sheet_size": 8,
         "presentations_per_day": 16,
         "groups": [{"name": "control", "organisms": 1}, {"name": "md_peak", "organisms": 1}]}
    )  # fmt: skip
    model = DevelopmentModel(scenario)
    while model.running:
        model.step()
    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))
    od_maps(model.map_record(), tmp_path / "m.png", label=str.upper)
    axes = [ax for ax in drawn[0].axes if ax.get_label() != "<colorbar>"]
    assert len(axes) == 2  # one per kitten, none blank
    assert axes[1].get_title().startswith("MD_PEAK #0")
    # one grey scale, keyed once, for every panel (each group had its own, so the deprived
    # eye's territory and the controls' were printed to different greys): ODI from the
    # ipsilateral eye's black to contra white
    keys = [ax for ax in drawn[0].axes if ax.get_label() == "<colorbar>"]
    assert len(keys) == 1
    assert keys[0].get_ylabel() == "ODI"
    assert keys[0].get_yticklabels()[-1].get_text().startswith("contra")
    assert "the same in every panel" in drawn[0].get_suptitle()
    assert "span" not in drawn[0].get_suptitle()  # a name from the code had leaked
    orientation_maps(model.map_record(), tmp_path / "o.png")
    keys = [ax for ax in drawn[1].axes if ax.get_label() == "<colorbar>"]
    assert [key.get_ylabel() for key in keys] == ["preferred orientation (°)"]  # one wheel


def test_an_unresponsive_unit_is_left_out_of_the_od_map_as_of_every_odi_statistic():
    """The sheet's maps dropped only units with no response at all; a unit below the
    responsiveness floor counted in the eye shares and the monocular fraction with the
    ODI of its noise."""
    from devsim.measures import RESPONSIVE_FLOOR

    left = np.array([[1.0, 0.02, 0.0, 0.5]])
    right = np.array([[1.0, 0.0, 0.0, 0.0]])
    odi = maps.od_map(left, right, 2).ravel()
    assert odi[0] == 0.0
    assert np.isnan(odi[1])  # 0.02 < RESPONSIVE_FLOOR: no eye drives it
    assert np.isnan(odi[2])
    assert odi[3] == 1.0
    assert 0.02 < RESPONSIVE_FLOOR
    assert maps.monocular_fraction(odi) == 0.5  # of the two responsive units


def test_the_orientation_wheel_names_the_bars_a_unit_prefers():
    """Behavioural, through the sheet's own gratings: units whose fields are horizontal,
    vertical or oblique bars (the figure's rows run down, as imshow draws them) are drawn
    in the key's colour of their bars' orientation, counterclockwise from horizontal. The
    wheel was the direction of the preferred grating's wave vector, clockwise on screen:
    horizontal bars were drawn as 90 degrees, vertical as 0, the obliques swapped."""
    from matplotlib import colormaps
    from matplotlib.colors import rgb_to_hsv

    from devsim.model import DevelopmentModel
    from devsim.plots.maps import orientation_rgb
    from devsim.scenario import Scenario

    no_lateral = {"lat_exc": 0.0, "lat_inh": 0.0}  # each unit's own field alone
    scenario = Scenario.model_validate(
        {"name": "bars", "species": "cat", "days": 1, "cortex": "sheet", "sheet_size": 8,
         "presentations_per_day": 16,
         "groups": [{"name": "control", "organisms": 4, "genome": no_lateral}]}
    )  # fmt: skip
    model = DevelopmentModel(scenario)
    patch = model.cohort.patch
    p, q = np.mgrid[0:patch, 0:patch] - patch // 2  # slot offsets: p down, q right
    across = {0: p, 90: q, 45: (p + q) / np.sqrt(2), 135: (p - q) / np.sqrt(2)}
    for k, offset in enumerate(across.values()):  # bars run across ``offset``'s gradient
        field = np.exp(-(p**2 + q**2) / 8.0) * np.cos(2 * np.pi * 0.15 * offset)
        model.cohort.weights[k] = 0.05 * np.tile(field.ravel(), 2)
    _, z, _ = model.maps()
    for k, degrees in enumerate(across):
        drawn = rgb_to_hsv(orientation_rgb(z[k]).reshape(-1, 3))[:, 0]
        key = rgb_to_hsv(np.array(colormaps["hsv"](degrees / 180.0)[:3]))[0]
        gap = np.abs((drawn - key + 0.5) % 1.0 - 0.5)  # hue is circular
        assert np.median(gap) < 0.05, degrees  # within 9 degrees


def test_the_ring_peak_of_stripes_is_what_science_md_says():
    """docs/science.md gives the ring peak of stripes on a 32-unit sheet: square waves with
    a whole number of periods 10-57 (it said 9-14), and stripes whose period does not
    divide the sheet as low as 2.1-3.2 at periods 7, 9 and 12 (it said 9-14 too)."""
    xx = np.mgrid[0:32, 0:32][1]
    square = [
        maps.wavelength(np.sign(np.sin(2 * np.pi * k * xx / 32 + 0.1)))[1] for k in range(3, 8)
    ]
    assert min(square) >= 10.0
    assert max(square) <= 58.0
    for period in (7, 9, 12):
        for wave in (np.sin, lambda a: np.sign(np.sin(a + 0.1))):
            assert 2.0 <= maps.wavelength(wave(2 * np.pi * xx / period))[1] <= 3.3


@pytest.mark.parametrize("size", [8, 10, 11])
def test_a_sheet_under_12_units_has_no_ring_to_find(size):
    """docs/scenarios.md (sheet_size) and science.md: columns are looked for at least
    MIN_COLUMN units apart, so on a sheet under 12 units the rings end at k = 2 and the
    ring peak is 1 even for perfect stripes (the docs offered 8-32 without saying so)."""
    xx = np.mgrid[0:size, 0:size][1]
    spacing, peak = maps.wavelength(np.cos(2 * np.pi * 2 * xx / size))
    assert spacing == pytest.approx(size / 2)
    assert peak == 1.0


def test_orientation_maps_drawn_together_share_one_brightness_scale(tmp_path, monkeypatch):
    """A map half as selective as its littermate's is drawn half as bright (the figure says
    brightness = selectivity): each panel was scaled to its own 95th percentile, so a
    weakly tuned group (binocular deprivation, a newborn in the maps over age) looked as
    selective as the controls, as the OD maps' greys did before they shared one scale."""
    from matplotlib.figure import Figure

    from devsim.plots.maps import map_development, orientation_maps

    strong = ring_field(24, 3, seed=1)
    strong /= np.abs(strong).max()
    weak = 0.5 * strong
    record = {
        "group": ["control", "deprived"],
        "litter": [0, 0],
        "orientation": np.stack([strong, weak]),
        "od": np.zeros((2, 24, 24)),
        "history": np.stack([np.stack([z, z]) for z in (weak, weak, weak, strong)]),
        "od_history": np.zeros((4, 2, 24, 24)),
    }
    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))

    def brightness(fig):  # each panel's mean HSV value, in drawing order
        axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.get_images()]
        return [float(ax.get_images()[0].get_array().max(axis=-1).mean()) for ax in axes]

    orientation_maps(record, tmp_path / "o.png")
    control, deprived = brightness(drawn[0])
    assert deprived / control == pytest.approx(0.5, abs=0.02)
    map_development(record, tmp_path / "d.png", ages=2)
    day2, day3 = brightness(drawn[1])[-2:]  # the orientation row: P2 (weak), P3 (final)
    assert day2 / day3 == pytest.approx(0.5, abs=0.02)


def test_pinwheel_density_counts_and_measures_lambda_on_one_map():
    """Kaschube et al. (2010) take the pinwheels and Lambda from one map; on a broad
    spectrum the imaged map's Lambda is longer than the unblurred one's, and the density
    used to mix them (counted on the imaged map, per the unblurred Lambda: sheet_md's
    kittens 2.8-3.5 instead of 4.1-5.2)."""
    f = np.fft.fftfreq(32)
    k = np.hypot(f[:, None], f[None, :])
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((32, 32)) + 1j * rng.standard_normal((32, 32))
    broad = np.fft.ifft2(np.fft.fft2(noise) * np.exp(-((k * 9 - 1) ** 2) / (2 * 0.5**2)))
    density, spacing, count = maps.pinwheel_density(broad)
    unblurred = maps.wavelength(broad)[0]
    seen = maps.imaged(broad, unblurred)
    assert spacing == maps.wavelength(seen)[0] > unblurred
    assert count == maps.pinwheels(seen)
    assert density == pytest.approx(count * spacing**2 / 32**2)
