"""One module per figure or family of figures; each figure is `(Options) -> list[str]`."""
