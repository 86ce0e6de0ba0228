"""PySide6 + pyqtgraph desktop review application."""
