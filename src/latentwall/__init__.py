"""latentwall: audit what open-weight language models will not say."""

from latentwall.labels import Status, Verdict

__version__ = "0.1.0"
__all__ = ["Status", "Verdict", "__version__"]
