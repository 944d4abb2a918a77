"""Reports for people: a self-contained HTML file per store or site."""
