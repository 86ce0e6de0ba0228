"""The model and everything that runs, trains, adapts or evaluates it.

The only part of core that may import Keras/TensorFlow (an import-linter contract in
pyproject.toml).  Also the chroma cache (the model's output on disk) and the hint maths.
"""
from typing import Any

# A Keras tensor (or a layer's symbolic output) in annotations: keras and tensorflow ship no type
# information, so mypy sees them as Any; the alias names what is meant.
Tensor = Any
