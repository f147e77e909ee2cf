from .base import Provider
from .registry import all_providers, find, get

__all__ = ["Provider", "all_providers", "find", "get"]
