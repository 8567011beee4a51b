"""A trained jury as a thing kept and moved: saved and loaded (store), described (card), checked
before it serves (check), and promoted to and followed from a Hub model repo (hub)."""
