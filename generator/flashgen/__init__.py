"""flashgen: turn a course kept as YAML files into Anki decks and printable study material."""

__version__ = "0.1.0"
