"""Pages the reference server serves to people (plain HTML, a little script)."""
