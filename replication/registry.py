"""Every claim's facts, as data: the lecture's sentence, its source, its value and the tolerance.

The report, the README's claims table, the command line and the tests all read this one table; the
claim modules never hold a lecture number of their own. A verdict is computed from measured numbers
and these entries only (:mod:`replication.verdicts`).

``criterion`` says how a measured mean is judged against ``expected``:

- ``at_least``: mean >= expected - tolerance (the lecture's number, or close enough below it);
- ``within``: |mean - expected| <= tolerance;
- ``greater_than``: mean > expected (a qualitative claim turned into a number, e.g. a gap that
  must be positive); ``expected`` is then our threshold, not a lecture value.
"""

from __future__ import annotations

import dataclasses

# paper: the lecture's settings (>= 3 seeds); quick: a stated 2-core CPU budget; smoke: seconds.
PROFILES = ("paper", "quick", "smoke")


@dataclasses.dataclass(frozen=True)
class Claim:
    id: str
    title: str
    statement: str  # the lecture's checkable sentence, in its words where possible
    source: str  # slide and notebook
    module: str  # replication.claims.<module>: config PROFILES and run(config, ctx)
    dataset: str  # the lecture's dataset, the default for --dataset
    metric: str  # the measured quantity the verdict reads (per-seed values in the result)
    metric_label: str
    expected: float  # the lecture's value, or our threshold when lecture_value is False
    criterion: str  # "at_least", "within" or "greater_than"
    tolerance: float
    tolerance_reason: str
    lecture_value: bool = True  # `expected` is the lecture's number (else it is our threshold)
    percent: bool = True  # show metric and expected as percentages
    paper: str | None = None
    lecture_context: tuple[str, ...] = ()  # other numbers the lecture printed, for the report
    requires: tuple[str, ...] = ()  # claims whose trained models this one reuses
    figures: tuple[str, ...] = ()  # figure scripts (figures/plot_<name>.py)
    deviations: tuple[str, ...] = ()  # every way we differ from the lecture


CLAIMS: dict[str, Claim] = {
    c.id: c
    for c in (
        Claim(
            id="mnist-mlp",
            title="MLP on MNIST",
            statement=(
                "A multilayer perceptron (Dense 512 relu, Dropout 0.2, three times; Dense 10 "
                "softmax; 932,362 parameters) reaches about 98.2-98.4% test accuracy on MNIST."
            ),
            source=(
                "Slide 'We have designed a net to identify hand-written digits'; notebook "
                "mnist_mlp.ipynb (marcinwolter/DeepLearning_2020, MachineLearning2020), whose "
                "header says 98.40% after 20 epochs"
            ),
            module="mnist_mlp",
            dataset="mnist",
            metric="test_accuracy",
            metric_label="test accuracy, last epoch",
            expected=0.9840,
            criterion="at_least",
            tolerance=0.003,
            tolerance_reason=(
                "The lecture gives a range, 98.2-98.4%, and its own 10-epoch notebook printed "
                "98.15%; a mean within 0.3 points below 98.40% is inside that range's spread."
            ),
            lecture_context=(
                "notebook, 10 epochs: test accuracy 0.9815, test loss 0.0727, train accuracy 0.9958",
                "notebook header: 98.40% after 20 epochs",
            ),
            figures=("mnist_digits", "mnist_mlp_curves"),
            deviations=(
                "Images enter the model as 28x28x1 and a Flatten layer (0 parameters) makes the "
                "784-vector the notebook built with reshape; the parameter count is unchanged.",
                "Batches are shuffled from (seed, epoch) so that a resumed run sees the same "
                "batches; the notebook used Keras's default shuffle.",
            ),
        ),
    )
}


def get(claim_id: str) -> Claim:
    from .errors import ReplicationError

    if claim_id not in CLAIMS:
        raise ReplicationError(f"unknown claim {claim_id!r}; known: {', '.join(CLAIMS)}")
    return CLAIMS[claim_id]
