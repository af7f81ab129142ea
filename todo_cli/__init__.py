"""todo: a terminal todo agent."""

__version__ = "0.1.0"
