"""The web desk (`selfeval serve`): the unit's self-check and 上报, the reviewer's desk, in a browser."""
