// Train target.
