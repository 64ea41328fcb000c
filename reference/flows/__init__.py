"""One module per flow; each exposes `routes`."""
