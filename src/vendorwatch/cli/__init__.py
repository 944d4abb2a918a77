"""The `vendorwatch` command line."""
