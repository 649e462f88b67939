"""Signals of the grid: what other apps must follow when the network changes shape."""

from django.dispatch import Signal

# Sent inside the transaction of ``node_move`` after every record's path copy was rewritten:
# ``old`` and ``new`` are the moved subtree's path before and after.
subtree_moved = Signal()
