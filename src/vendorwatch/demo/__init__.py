"""The bundled demo: a deterministic synthetic capture of a container terminal and the
answer key of what it plants."""

from vendorwatch.demo.terminal import DemoTruth, PlantedDevice, write_terminal_capture

__all__ = ["DemoTruth", "PlantedDevice", "write_terminal_capture"]
