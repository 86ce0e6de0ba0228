"""BentoColor Studio: neural colorization of black-and-white film, with artist review and correction."""

__version__ = "0.1.0"
