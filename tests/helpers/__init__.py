"""Helpers the tests share: clip makers (clips), the painted-window helpers (paint), hint
generators (hint_models) and the synthetic films of the temporal and adaptation tests.
Fixtures live in tests/conftest.py."""
