// Runtime target.
