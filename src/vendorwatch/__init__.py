"""vendorwatch: which networked equipment from high-risk vendors runs in vital infrastructure."""

__version__ = "0.1.0"
