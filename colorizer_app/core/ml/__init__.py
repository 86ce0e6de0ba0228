"""The model and everything that runs, trains, adapts or evaluates it.

The only part of core that may import Keras/TensorFlow (an import-linter contract in
pyproject.toml).  Also the chroma cache (the model's output on disk) and the hint maths.
"""
