"""mldock: mine how machine-learning projects use Docker (a reproduction of EASE 2022)."""

__version__ = "0.1.0"
