"""The hint tool: colour clicks that a hint-conditioned network spreads to the object's edges."""
from .controller import HintController, attach_hints

__all__ = ["HintController", "attach_hints"]
