"""Keep TensorFlow, absl and oneDNN start-up chatter off stderr unless the user asks for it.

Must run before TensorFlow is imported: TF reads TF_CPP_MIN_LOG_LEVEL once, when its C++ runtime
loads, and absl's "log messages before absl::InitializeLog()" notice comes from that load too.
Level 3 hides TF's C++ info/warning/error lines (CUDA probing, oneDNN's "custom operations are
on", cpu feature notices); real failures still reach the user as exceptions, which the CLI and the
app turn into one line. oneDNN itself stays on (it is the fast CPU path); only its notice goes.
"""
from __future__ import annotations

import logging
import os
import warnings

_NOISY_LOGGERS = ("tensorflow", "absl", "keras", "h5py", "jax")


def configure(verbose: bool = False) -> None:
    """Quiet (default) or verbose logging for the ML stack; call before anything imports Keras."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
        for name in _NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # a value the user exported wins
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    # Deprecation and user warnings raised inside the ML stack are for its developers, not ours.
    for module in ("tensorflow", "keras", "absl", "tensorboard", "google.protobuf", "jax"):
        warnings.filterwarnings("ignore", module=module.replace(".", r"\.") + r"(\.|$)")
    try:
        from absl import logging as absl_logging
    except ImportError:
        return
    absl_logging.set_verbosity(absl_logging.ERROR)
    absl_logging.set_stderrthreshold("error")
