"""One hop from a claim id to everything about it (issue #20): its module, its registry entry, its
figure scripts and its tests, each named by path in the claim module's docstring; and no
registry number restated in that docstring, where it could drift from the registry.

Layout: ``replication/claims/<module>.py``, ``registry.CLAIMS[<id>]``,
``figures/<module>/plot_<figure>.py`` (a figure two claims show lives with the first that lists
it: ``plotting.figure_script``) and ``tests/claims/test_<module>.py``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from replication import claims, plotting, registry

REPO = Path(__file__).resolve().parent.parent
CLAIM_IDS = list(registry.CLAIMS)


def docstring(claim_id: str) -> str:
    return claims.module(claim_id).__doc__ or ""


def named_paths(doc: str, top: str) -> list[str]:
    """Every ``top/...py`` path a docstring quotes (in double backticks)."""
    return re.findall(rf"``({top}/[\w/]+\.py)``", doc)


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_the_claim_module_names_its_registry_entry_figures_and_tests(claim_id):
    claim = registry.get(claim_id)
    doc = docstring(claim_id)
    assert f"registry entry ``{claim_id}``" in doc or f"entries ``{claim_id}``" in doc, claim_id
    # Its figures: every script the registry lists, by path, and nothing that does not exist.
    figures = named_paths(doc, "figures")
    for path in figures:
        assert (REPO / path).is_file(), f"{claim_id}'s docstring names {path}, which is missing"
    expected = {str(plotting.figure_script(n).relative_to(plotting.FIGURES_DIR.parent))
                .replace("figure_scripts/", "figures/") for n in claim.figures}
    assert expected <= set(figures), f"{claim_id}: the docstring should name {sorted(expected)}"
    if not claim.figures and not figures:
        assert "Figures: none" in doc, f"{claim_id}: say 'Figures: none' when it draws none"
    # Its tests: tests/claims/test_<module>.py exists, is named, and names the claim.
    tests = named_paths(doc, "tests")
    own = f"tests/claims/test_{claim.module}.py"
    assert own in tests, f"{claim_id}'s docstring should name {own}"
    for path in tests:
        assert (REPO / path).is_file(), f"{claim_id}'s docstring names {path}, which is missing"
    assert claim_id in (REPO / own).read_text(), f"{own} never names {claim_id!r}"


def test_every_figure_script_belongs_to_a_claim_that_lists_it():
    listed = {name for claim in registry.CLAIMS.values() for name in claim.figures}
    scripts = sorted((REPO / "figures").rglob("*.py"))
    assert scripts
    for script in scripts:
        rel = script.relative_to(REPO)
        name = script.stem.removeprefix("plot_")
        assert script.stem.startswith("plot_") and name in listed, f"{rel}: no claim lists it"
        assert script == REPO / "figures" / plotting.figure_script(name).relative_to(
            plotting.FIGURES_DIR), f"{rel}: should be in the folder of {plotting.figure_owner(name)}"


def test_every_claim_test_file_belongs_to_a_claim():
    modules = {claim.module for claim in registry.CLAIMS.values()}
    for path in sorted((REPO / "tests" / "claims").glob("test_*.py")):
        assert path.stem.removeprefix("test_") in modules, f"{path.name}: no claim has this module"


# -- no registry number restated -------------------------------------------------------------

NUMBER = r"(\d+(?:\.\d+)?)"
# "Fig. 6.6", "Figures 6.6 and 6.7": figure numbers, not values.
FIGURE_REFERENCE = r"Fig(?:ure)?s?\.?\s+\d+\.\d+(?:\s*(?:and|,|-)\s*\d+\.\d+)*"


def registry_numbers(claim) -> set[float]:
    """The entry's thresholds, minimum effects and gates, and the lecture numbers it quotes
    (decimals and percentages in its context lines), as fractions."""
    test = claim.test
    values = {claim.expected, test.threshold, claim.min_effect,
              *(g.at_least for g in claim.gates),
              *(t.threshold for t in claim.also_judged), *(t.min_effect for t in claim.also_judged)}
    margin = registry.PRECISION_CHECK_MARGINS.get(claim.id)
    if margin is not None:
        values.add(margin)
    for line in claim.lecture_context:
        line = re.sub(FIGURE_REFERENCE, "", line)
        values |= {float(v) / 100 for v in re.findall(NUMBER + r"\s*%", line)}
        values |= {float(v) for v in re.findall(r"(?<![\d.])(\d+\.\d+)(?!\s*%)", line)}
    return {round(v, 6) for v in values if v}


def stated_numbers(doc: str, percent: bool) -> set[tuple[float, int]]:
    """Numbers a docstring states as a value a claim could be judged by, each as (fraction, its
    decimal places as a fraction): percentages, "N points", decimals, and whole numbers after a
    comparison ("exceeds 2", "the slide's 8")."""
    doc = re.sub(FIGURE_REFERENCE, "", doc)

    def places(text: str, scale: int) -> int:
        return (len(text.split(".")[1]) if "." in text else 0) + scale

    found = {(float(v) / 100, places(v, 2)) for v in re.findall(NUMBER + r"\s*%", doc)}
    found |= {(float(v) / 100, places(v, 2)) for v in re.findall(NUMBER + r"\s*points?\b", doc)}
    for v in re.findall(r"(?<![\d.,x])(\d+\.\d+)(?![\d.x])", doc):
        found.add((float(v), places(v, 0)))
        if percent:
            found.add((float(v) / 100, places(v, 2)))
    found |= {(float(v), 0) for v in re.findall(
        r"(?:exceeds?|at least|above|below|>=?|against the \w+'s)\s+" + NUMBER + r"\b(?!\s*%)", doc)}
    return found


def restated(claim, doc: str) -> set[float]:
    """Registry numbers the docstring states: exactly, or rounded to 3 or more significant digits
    ("81.5%" for the notebook's 0.8147)."""
    hits = set()
    for value, ndigits in stated_numbers(doc, claim.percent):
        for number in registry_numbers(claim):
            significant = ndigits + math.floor(math.log10(abs(value))) + 1 if value else 0
            if abs(number - value) < 1e-9 or (significant >= 3 and round(number, ndigits) == value):
                hits.add(number)
    return hits


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_the_claim_module_points_to_the_registry_instead_of_restating_its_numbers(claim_id):
    claim = registry.get(claim_id)
    found = restated(claim, docstring(claim_id))
    assert not found, (f"replication/claims/{claim.module}.py's docstring restates registry "
                       f"numbers {sorted(found)}: point to the entry instead")


def test_the_restated_number_check_catches_a_restated_threshold():
    claim = registry.get("pooling-translation")  # minimum effect 1 point, gates 97%
    doc = "at least 1 point; every CNN at least 97% unshifted"
    assert restated(claim, doc) == {0.01, 0.97}
    assert restated(registry.get("mlp-vs-cnn"), "the ratio exceeds 2") == {2.0}
    assert restated(registry.get("mnist-cnn"), "test accuracy 0.9959") == {0.9959}
    # Rounded: the notebook's 0.8147 and 1.3711 as "81.5%" and "1.37"; not "Dropout(0.2)".
    noaug = registry.get("cifar10-noaug")
    assert restated(noaug, "81.5% test accuracy; its loss climbs to 1.37") == {0.8147, 1.3711}
    assert not restated(noaug, "Dropout(0.2), 2x2 pools, 64 filters")
