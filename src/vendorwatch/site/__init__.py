"""What the operator declares about a site: its network zones, the endpoints it expects
devices to reach (allowlist), and the triage decisions on findings."""
