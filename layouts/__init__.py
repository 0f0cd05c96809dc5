"""One module per board: its frame (`layout`) and the ids its browser code writes to."""
