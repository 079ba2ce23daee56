"""Import: from a link or a file to searchable, timestamped chunks."""
