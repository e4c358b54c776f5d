// Passes target.
