"""Looking at runs and models: learning curves, activations on a text (``trace``),
gate saturation, cells correlated with a pattern, and the self-contained HTML page of
``rnnlab inspect``."""
from .activations import correlated_cells, pattern_indicator, plot_saturation, saturation, trace
from .history import plot_history
from .page import page_data, render_page

__all__ = ["correlated_cells", "page_data", "pattern_indicator", "plot_history", "plot_saturation",
           "render_page", "saturation", "trace"]
