"""From film to file: batch colorization, render/export stages, and the colorize scheduler."""
