"""replication: re-runs the claims of M. Wolter's Lecture 6 (Convolutional Deep Neural Networks,
IFJ PAN, 2 December 2020) with Keras 3 and judges each against the lecture's own numbers."""

__version__ = "0.1.0"
