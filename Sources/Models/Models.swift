// Models target.
