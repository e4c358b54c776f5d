// Data target.
