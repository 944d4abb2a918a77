"""Identity evidence from the packets of a capture: one module per protocol, dispatched by
`scan` after a cheap demultiplexing of link, network and transport headers."""
