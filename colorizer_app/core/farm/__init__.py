"""Rendering one film on a Ray cluster: plan (chunks), runner (tasks) and join (the output)."""
